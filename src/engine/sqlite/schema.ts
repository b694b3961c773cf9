import Database from 'better-sqlite3'

export type Fsync = 'always' | 'os'

/**
 * Opens the database file with the pragmas of a durability mode. In WAL mode, `synchronous=FULL`
 * fsyncs the log at every commit; `NORMAL` leaves it to the OS and to checkpoints.
 */
export function openDatabase(file: string, fsync: Fsync): Database.Database {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${fsync === 'always' ? 'FULL' : 'NORMAL'}`)
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = OFF')
  return db
}

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE channels (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    first_offset INTEGER NOT NULL,
    last_offset INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    first_time INTEGER
  );
  CREATE INDEX channels_first_time ON channels (first_time);
  CREATE TABLE messages (
    channel_id INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    id TEXT NOT NULL,
    time INTEGER NOT NULL,
    headers TEXT,
    content_type TEXT NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (channel_id, offset)
  ) WITHOUT ROWID;
  CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    result TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  ) WITHOUT ROWID;
  CREATE INDEX idempotency_expiry ON idempotency (expires_at);
  `,
  `
  CREATE TABLE cursors (
    name TEXT PRIMARY KEY,
    offset INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  `
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    state TEXT NOT NULL,
    seq INTEGER NOT NULL,
    due_at INTEGER,
    finished_at INTEGER,
    doc TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX jobs_queued ON jobs (queue, seq) WHERE state = 'queued';
  CREATE INDEX jobs_due ON jobs (due_at) WHERE due_at IS NOT NULL;
  CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
  CREATE INDEX jobs_by_state ON jobs (queue, state, seq);
  CREATE TABLE job_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  ) WITHOUT ROWID;
  `,
]

/** Brings the schema up to date; each migration runs once, in its own transaction. */
export function migrate(db: Database.Database, migrations: readonly string[] = MIGRATIONS): void {
  const version = db.pragma('user_version', { simple: true }) as number
  for (let v = version; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v])
      db.pragma(`user_version = ${v + 1}`)
    })()
  }
}
