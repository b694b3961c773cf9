import type Database from 'better-sqlite3'
import type { AppendItem, Coordinates, IdempotencyKey, JobStore, LeaseRequest } from '../../core/engine.js'
import { dueAt, JOB_STATES, type JobRecord, type JobState, jobChannel } from '../../core/jobs/job.js'
import type { Backoff, JobChange, NewJob } from '../../core/jobs/machine.js'
import { type DueWrite, JobLedger, type JobTable, type JobWrite } from '../job-ledger.js'
import type { ChannelWrites } from './channel-writes.js'
import type { WriterClient } from './writer-client.js'

/** The jobs table on the writer thread: the ledger's storage inside the batch transaction. */
class SqliteJobTable implements JobTable {
  readonly #s: ReturnType<typeof prepareWrites>
  readonly #channels: ChannelWrites
  readonly #windowMs: number
  #seq: number

  constructor(db: Database.Database, channels: ChannelWrites, idempotencyWindowMs: number) {
    this.#s = prepareWrites(db)
    this.#channels = channels
    this.#windowMs = idempotencyWindowMs
    this.#seq = (this.#s.maxSeq.get() as { seq: number | null }).seq ?? 0
  }

  get(id: string): JobRecord | undefined {
    const row = this.#s.get.get(id) as { doc: string } | undefined
    return row ? (JSON.parse(row.doc) as JobRecord) : undefined
  }

  save(job: JobRecord, queuedNow: boolean): void {
    const existing = this.#s.seqOf.get(job.id) as { seq: number } | undefined
    const seq = queuedNow || !existing ? ++this.#seq : existing.seq
    this.#s.put.run(job.id, job.queue, job.state, seq, dueAt(job), job.finishedAt, JSON.stringify(job))
  }

  firstQueued(queue: string): string | undefined {
    return (this.#s.firstQueued.get(queue) as { id: string } | undefined)?.id
  }

  dueIds(now: number, limit: number): string[] {
    return (this.#s.due.all(now, limit) as { id: string }[]).map((r) => r.id)
  }

  idempotent(key: IdempotencyKey, now: number): string | undefined {
    return (this.#s.keyGet.get(key.scope, key.key, now) as { id: string } | undefined)?.id
  }

  remember(key: IdempotencyKey, id: string, now: number): void {
    this.#s.keyPut.run(key.scope, key.key, id, now + this.#windowMs)
  }

  append(items: readonly AppendItem[]): readonly Coordinates[] {
    return this.#channels.append({ items }).coordinates
  }

  /** Removes the jobs that ended before `finishedBefore`, with their channels (their results with them). */
  purge(finishedBefore: number, now: number): void {
    for (const { id } of this.#s.finishedBefore.all(finishedBefore) as { id: string }[]) {
      this.#channels.remove(jobChannel(id))
      this.#s.remove.run(id)
    }
    this.#s.keySweep.run(now)
  }
}

function prepareWrites(db: Database.Database) {
  return {
    maxSeq: db.prepare('SELECT max(seq) AS seq FROM jobs'),
    get: db.prepare('SELECT doc FROM jobs WHERE id = ?'),
    seqOf: db.prepare('SELECT seq FROM jobs WHERE id = ?'),
    put: db.prepare(
      'INSERT OR REPLACE INTO jobs (id, queue, state, seq, due_at, finished_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    firstQueued: db.prepare("SELECT id FROM jobs WHERE queue = ? AND state = 'queued' ORDER BY seq LIMIT 1"),
    due: db.prepare('SELECT id FROM jobs WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?'),
    keyGet: db.prepare('SELECT id FROM job_keys WHERE scope = ? AND key = ? AND expires_at > ?'),
    keyPut: db.prepare('INSERT OR REPLACE INTO job_keys (scope, key, id, expires_at) VALUES (?, ?, ?, ?)'),
    keySweep: db.prepare('DELETE FROM job_keys WHERE expires_at <= ?'),
    finishedBefore: db.prepare('SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?'),
    remove: db.prepare('DELETE FROM jobs WHERE id = ?'),
  }
}

export interface SubmitArgs {
  readonly spec: NewJob
  readonly idempotency?: IdempotencyKey
}

/** The job writes, run on the writer thread. */
export function jobWrites(
  db: Database.Database,
  channels: ChannelWrites,
  idempotencyWindowMs: number,
  retentionMs: number,
) {
  const table = new SqliteJobTable(db, channels, idempotencyWindowMs)
  const ledger = new JobLedger(table)
  return {
    submit: ({ spec, idempotency }: SubmitArgs): JobWrite => ledger.submit(spec, idempotency, Date.now()),
    claim: ({ queue, lease, leaseMs }: { queue: string; lease: string; leaseMs: number }): JobWrite =>
      ledger.claim(queue, lease, leaseMs, Date.now()),
    change: ({ id, change }: { id: string; change: JobChange }): JobWrite =>
      ledger.change(id, change, Date.now()),
    changeThenClaim: ({ id, change, next }: { id: string; change: JobChange; next: LeaseRequest }) =>
      ledger.changeThenClaim(id, change, next, Date.now()),
    due: ({ backoff }: { backoff: Backoff }): DueWrite => ledger.due(backoff, Date.now()),
    sweep(now: number): void {
      table.purge(now - retentionMs, now)
    },
  }
}

/** Jobs in SQLite: written through the writer thread (group commit), read on the main connection. */
export class SqliteJobs implements JobStore {
  readonly #writer: WriterClient
  readonly #announce: (items: readonly AppendItem[], coordinates: readonly Coordinates[]) => void
  readonly #s: ReturnType<typeof prepareReads>

  constructor(
    db: Database.Database,
    writer: WriterClient,
    announce: (items: readonly AppendItem[], coordinates: readonly Coordinates[]) => void,
  ) {
    this.#writer = writer
    this.#announce = announce
    this.#s = prepareReads(db)
  }

  async submit(spec: NewJob, idempotency?: IdempotencyKey) {
    const write = await this.#writer.call('jobSubmit', { spec, idempotency })
    this.#announce(write.events.items, write.events.coordinates)
    return { job: write.job as JobRecord, replayed: write.replayed ?? false, handed: write.handed }
  }

  async claim(queue: string, lease: string, leaseMs: number) {
    // An empty queue is seen on this connection without a round trip to the writer.
    if (!this.#s.anyQueued.get(queue)) return undefined
    const write = await this.#writer.call('jobClaim', { queue, lease, leaseMs })
    this.#announce(write.events.items, write.events.coordinates)
    return write.job
  }

  async change(id: string, change: JobChange) {
    const write = await this.#writer.call('jobChange', { id, change })
    this.#announce(write.events.items, write.events.coordinates)
    return write.job as JobRecord
  }

  async changeThenClaim(id: string, change: JobChange, next: LeaseRequest) {
    const write = await this.#writer.call('jobChangeThenClaim', { id, change, next })
    this.#announce(write.events.items, write.events.coordinates)
    return { job: write.job as JobRecord, next: write.next }
  }

  async due(backoff: Backoff) {
    const write = await this.#writer.call('jobDue', { backoff })
    this.#announce(write.events.items, write.events.coordinates)
    return [...write.jobs]
  }

  async get(id: string) {
    const row = this.#s.get.get(id) as { doc: string } | undefined
    return row ? (JSON.parse(row.doc) as JobRecord) : undefined
  }

  async nextDue() {
    return (this.#s.nextDue.get() as { at: number | null }).at ?? undefined
  }

  async list(queue: string, state: JobState, limit: number) {
    return (this.#s.list.all(queue, state, limit) as { doc: string }[]).map(
      (r) => JSON.parse(r.doc) as JobRecord,
    )
  }

  async counts(queue: string) {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>
    for (const row of this.#s.counts.all(queue) as { state: JobState; n: number }[]) counts[row.state] = row.n
    return counts
  }
}

function prepareReads(db: Database.Database) {
  return {
    get: db.prepare('SELECT doc FROM jobs WHERE id = ?'),
    anyQueued: db.prepare("SELECT 1 FROM jobs WHERE queue = ? AND state = 'queued' LIMIT 1"),
    nextDue: db.prepare('SELECT min(due_at) AS at FROM jobs WHERE due_at IS NOT NULL'),
    list: db.prepare('SELECT doc FROM jobs WHERE queue = ? AND state = ? ORDER BY seq LIMIT ?'),
    counts: db.prepare('SELECT state, count(*) AS n FROM jobs WHERE queue = ? GROUP BY state'),
  }
}
