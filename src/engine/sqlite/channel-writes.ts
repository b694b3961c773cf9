import { randomUUID } from 'node:crypto'
import type Database from 'better-sqlite3'
import type { AppendItem, AppendResult, Coordinates, IdempotencyKey } from '../../core/engine.js'
import type { ChannelSettings } from '../../core/namespaces.js'

interface ChannelRow {
  id: number
  first: number
  last: number
  bytes: number
  firstTime: number | null
}

export interface AppendArgs {
  readonly items: readonly AppendItem[]
  readonly idempotency?: IdempotencyKey
}

export interface ChannelWritesContext {
  readonly settingsFor: (channel: string) => ChannelSettings
  readonly idempotencyWindowMs: number
  /** The shortest age retention of any namespace, or 0: bounds which channels an age sweep looks at. */
  readonly shortestMaxAgeMs: number
}

/**
 * The writes of channels, run on the writer thread inside the batch transaction. Channel rows are
 * cached; `forget` drops the cache when a transaction rolls back.
 */
export class ChannelWrites {
  readonly #ctx: ChannelWritesContext
  readonly #channels = new Map<string, ChannelRow>()
  readonly #s: ReturnType<typeof prepare>

  constructor(db: Database.Database, ctx: ChannelWritesContext) {
    this.#ctx = ctx
    this.#s = prepare(db)
  }

  forget(): void {
    this.#channels.clear()
  }

  append({ items, idempotency }: AppendArgs): AppendResult {
    const now = Date.now()
    if (idempotency) {
      const row = this.#s.idemGet.get(idempotency.scope, idempotency.key, now) as
        | { result: string }
        | undefined
      if (row) return { coordinates: JSON.parse(row.result) as Coordinates[], replayed: true }
    }
    const touched = new Set<ChannelRow & { name: string }>()
    const coordinates = items.map((item) => {
      const channel = this.#channel(item.channel)
      const offset = channel.last + 1
      const id = randomUUID()
      const headers = Object.keys(item.headers).length > 0 ? JSON.stringify(item.headers) : null
      this.#s.insert.run(channel.id, offset, id, now, headers, item.contentType, item.payload)
      channel.last = offset
      channel.bytes += item.payload.byteLength
      if (channel.firstTime === null) channel.firstTime = now
      touched.add(channel)
      return { channel: item.channel, offset, id, time: now }
    })
    for (const channel of touched) {
      const { maxMessages } = this.#ctx.settingsFor(channel.name)
      if (channel.last - channel.first + 1 > maxMessages)
        this.#trimBefore(channel, channel.last - maxMessages + 1)
      this.#s.saveChannel.run(channel.first, channel.last, channel.bytes, channel.firstTime, channel.id)
    }
    if (idempotency) {
      const expiresAt = now + this.#ctx.idempotencyWindowMs
      this.#s.idemPut.run(idempotency.scope, idempotency.key, JSON.stringify(coordinates), expiresAt)
    }
    return { coordinates, replayed: false }
  }

  /** Removes a channel whole: its messages and its row (a purged job's channel). */
  remove(name: string): void {
    this.#channels.delete(name)
    const row = this.#s.getChannel.get(name) as { id: number } | undefined
    if (!row) return
    this.#s.deleteAll.run(row.id)
    this.#s.deleteChannel.run(row.id)
  }

  /** Trims channels past their age retention and forgets expired idempotency keys. */
  sweep(now: number): void {
    this.#s.idemSweep.run(now)
    if (this.#ctx.shortestMaxAgeMs <= 0) return
    const candidates = this.#s.oldChannels.all(now - this.#ctx.shortestMaxAgeMs) as { name: string }[]
    for (const { name } of candidates) {
      const { maxAgeMs } = this.#ctx.settingsFor(name)
      if (maxAgeMs <= 0) continue
      const channel = this.#channel(name)
      const keep = this.#s.firstAfterTime.get(channel.id, now - maxAgeMs) as { offset: number } | undefined
      this.#trimBefore(channel, keep ? keep.offset : channel.last + 1)
      this.#s.saveChannel.run(channel.first, channel.last, channel.bytes, channel.firstTime, channel.id)
    }
  }

  #trimBefore(channel: ChannelRow, first: number): void {
    if (first <= channel.first) return
    const { bytes } = this.#s.rangeBytes.get(channel.id, first) as { bytes: number }
    this.#s.deleteBefore.run(channel.id, first)
    channel.first = first
    channel.bytes -= bytes
    const oldest = this.#s.timeAt.get(channel.id, first) as { time: number } | undefined
    channel.firstTime = oldest ? oldest.time : null
  }

  #channel(name: string): ChannelRow & { name: string } {
    let channel = this.#channels.get(name) as (ChannelRow & { name: string }) | undefined
    if (channel) return channel
    const row = this.#s.getChannel.get(name) as ChannelRow | undefined
    if (row) channel = { ...row, name }
    else {
      const id = Number(this.#s.createChannel.run(name).lastInsertRowid)
      channel = { id, first: 1, last: 0, bytes: 0, firstTime: null, name }
    }
    this.#channels.set(name, channel)
    return channel
  }
}

function prepare(db: Database.Database) {
  return {
    getChannel: db.prepare(
      'SELECT id, first_offset AS first, last_offset AS last, bytes, first_time AS firstTime FROM channels WHERE name = ?',
    ),
    createChannel: db.prepare(
      'INSERT INTO channels (name, first_offset, last_offset, bytes, first_time) VALUES (?, 1, 0, 0, NULL)',
    ),
    saveChannel: db.prepare(
      'UPDATE channels SET first_offset = ?, last_offset = ?, bytes = ?, first_time = ? WHERE id = ?',
    ),
    insert: db.prepare(
      'INSERT INTO messages (channel_id, offset, id, time, headers, content_type, payload) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    rangeBytes: db.prepare(
      'SELECT total(length(payload)) AS bytes FROM messages WHERE channel_id = ? AND offset < ?',
    ),
    deleteBefore: db.prepare('DELETE FROM messages WHERE channel_id = ? AND offset < ?'),
    deleteAll: db.prepare('DELETE FROM messages WHERE channel_id = ?'),
    deleteChannel: db.prepare('DELETE FROM channels WHERE id = ?'),
    timeAt: db.prepare('SELECT time FROM messages WHERE channel_id = ? AND offset = ?'),
    oldChannels: db.prepare('SELECT name FROM channels WHERE first_time < ?'),
    firstAfterTime: db.prepare(
      'SELECT offset FROM messages WHERE channel_id = ? AND time >= ? ORDER BY offset LIMIT 1',
    ),
    idemGet: db.prepare('SELECT result FROM idempotency WHERE scope = ? AND key = ? AND expires_at > ?'),
    idemPut: db.prepare(
      'INSERT OR REPLACE INTO idempotency (scope, key, result, expires_at) VALUES (?, ?, ?, ?)',
    ),
    idemSweep: db.prepare('DELETE FROM idempotency WHERE expires_at <= ?'),
  }
}
