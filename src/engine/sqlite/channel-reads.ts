import type Database from 'better-sqlite3'
import type { ChannelInfo } from '../../core/engine.js'
import { Message, type MessageHeaders } from '../../core/message.js'

interface MessageRow {
  offset: number
  id: string
  time: number
  headers: string | null
  content_type: string
  payload: Buffer
}

const NO_HEADERS: MessageHeaders = Object.freeze({})

/** Reads of channels on the main thread's own connection; WAL lets them run beside the writer. */
export class ChannelReads {
  readonly #read: Database.Statement
  readonly #info: Database.Statement
  readonly #names: Database.Statement

  constructor(db: Database.Database) {
    this.#read = db.prepare(
      `SELECT m.offset, m.id, m.time, m.headers, m.content_type, m.payload
       FROM channels c JOIN messages m ON m.channel_id = c.id
       WHERE c.name = ? AND m.offset > ? ORDER BY m.offset LIMIT ?`,
    )
    this.#info = db.prepare(
      'SELECT first_offset AS firstOffset, last_offset AS lastOffset, bytes FROM channels WHERE name = ?',
    )
    this.#names = db.prepare('SELECT name FROM channels WHERE name >= ? AND name < ? ORDER BY name')
  }

  /** Names starting with `prefix`, by a range scan of the name index. */
  names(prefix: string): string[] {
    const rows = this.#names.all(prefix, `${prefix}\u{10FFFF}`) as { name: string }[]
    return rows.map((row) => row.name).filter((name) => name.startsWith(prefix))
  }

  read(channel: string, after: number, limit: number): Message[] {
    const rows = this.#read.all(channel, after, limit) as MessageRow[]
    return rows.map(
      (row) =>
        new Message({
          channel,
          offset: row.offset,
          id: row.id,
          time: row.time,
          headers: row.headers ? (JSON.parse(row.headers) as MessageHeaders) : NO_HEADERS,
          contentType: row.content_type,
          payload: row.payload,
        }),
    )
  }

  info(channel: string): ChannelInfo | undefined {
    const row = this.#info.get(channel) as Omit<ChannelInfo, 'channel' | 'messages'> | undefined
    if (!row) return undefined
    return { channel, ...row, messages: row.lastOffset - row.firstOffset + 1 }
  }
}
