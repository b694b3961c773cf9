import type Database from 'better-sqlite3'
import type { Cursors } from '../../core/engine.js'
import type { WriterClient } from './writer-client.js'

export interface SetCursorArgs {
  readonly name: string
  readonly offset: number
}

/** The cursor write, run on the writer thread. */
export function cursorWrites(db: Database.Database) {
  const upsert = db.prepare(
    'INSERT INTO cursors (name, offset) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET offset = excluded.offset',
  )
  return {
    set({ name, offset }: SetCursorArgs): void {
      upsert.run(name, offset)
    },
  }
}

/** Past the last character a name can hold: `name < prefix + END` bounds a prefix range scan. */
const END = '\u{10FFFF}'

/** Cursors in the `cursors` table: read on the main connection, written through the writer thread. */
export class SqliteCursors implements Cursors {
  readonly #writer: WriterClient
  readonly #get: Database.Statement
  readonly #list: Database.Statement

  constructor(db: Database.Database, writer: WriterClient) {
    this.#writer = writer
    this.#get = db.prepare('SELECT offset FROM cursors WHERE name = ?')
    this.#list = db.prepare('SELECT name, offset FROM cursors WHERE name >= ? AND name < ? ORDER BY name')
  }

  async get(name: string): Promise<number | undefined> {
    return (this.#get.get(name) as { offset: number } | undefined)?.offset
  }

  async set(name: string, offset: number): Promise<void> {
    await this.#writer.call('setCursor', { name, offset })
  }

  async list(prefix: string): Promise<Map<string, number>> {
    const rows = this.#list.all(prefix, prefix + END) as { name: string; offset: number }[]
    return new Map(rows.filter((r) => r.name.startsWith(prefix)).map((r) => [r.name, r.offset]))
  }
}
