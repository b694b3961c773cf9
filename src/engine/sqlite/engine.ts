import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type Database from 'better-sqlite3'
import type {
  AppendItem,
  AppendResult,
  ChannelInfo,
  Coordinates,
  Cursors,
  Engine,
  EngineOptions,
  IdempotencyKey,
  JobStore,
  MessagesListener,
} from '../../core/engine.js'
import { Listeners } from '../../core/listeners.js'
import { groupByChannel, Message } from '../../core/message.js'
import type { Namespaces } from '../../core/namespaces.js'
import { MemoryEngine } from '../memory.js'
import { ChannelReads } from './channel-reads.js'
import { SqliteCursors } from './cursors.js'
import { SqliteJobs } from './jobs.js'
import { lockDataDir } from './lock.js'
import { type Fsync, migrate, openDatabase } from './schema.js'
import { WriterClient } from './writer-client.js'

export interface SqliteEngineOptions extends Omit<EngineOptions, 'settingsFor'> {
  readonly dataDir: string
  readonly fsync: Fsync
  readonly namespaces: Namespaces
  /** How often retention by age and expired idempotency keys are swept. */
  readonly sweepIntervalMs?: number
}

/**
 * The embedded engine: one SQLite file in WAL mode. Writes go through a writer thread with group
 * commit; reads run on the main thread. Ephemeral channels live in memory beside it.
 */
export class SqliteEngine implements Engine {
  readonly kind = 'sqlite'
  readonly #db: Database.Database
  readonly #reads: ChannelReads
  readonly #writer: WriterClient
  readonly #ephemeral: MemoryEngine
  readonly #options: SqliteEngineOptions
  readonly #listeners = new Listeners<Parameters<MessagesListener>>()
  readonly #unlock: () => void
  readonly cursors: Cursors
  readonly jobs: JobStore

  constructor(options: SqliteEngineOptions) {
    this.#options = options
    mkdirSync(options.dataDir, { recursive: true })
    this.#unlock = lockDataDir(join(options.dataDir, 'switchboard.lock'))
    const file = join(options.dataDir, 'switchboard.db')
    try {
      this.#db = openDatabase(file, options.fsync)
      migrate(this.#db)
      this.#db.pragma('query_only = 1')
    } catch (error) {
      this.#unlock()
      throw error
    }
    this.#reads = new ChannelReads(this.#db)
    this.#writer = new WriterClient({
      file,
      fsync: options.fsync,
      namespaces: options.namespaces.rules,
      defaults: options.namespaces.defaults,
      idempotencyWindowMs: options.idempotencyWindowMs,
      jobRetentionMs: options.jobRetentionMs ?? 24 * 3600 * 1000,
      sweepIntervalMs: options.sweepIntervalMs ?? 1000,
    })
    this.cursors = new SqliteCursors(this.#db, this.#writer)
    this.jobs = new SqliteJobs(this.#db, this.#writer, (items, coordinates) =>
      this.#announce(items, coordinates),
    )
    const settingsFor = (channel: string) => options.namespaces.settingsFor(channel)
    this.#ephemeral = new MemoryEngine({ settingsFor, idempotencyWindowMs: options.idempotencyWindowMs })
    this.#ephemeral.onMessages((channel, messages) => this.#listeners.emit(channel, messages))
  }

  async append(items: readonly AppendItem[], idempotency?: IdempotencyKey): Promise<AppendResult> {
    if (items.some((item) => this.#isEphemeral(item.channel))) return this.#appendMixed(items, idempotency)
    const result = await this.#writer.call('append', { items, idempotency })
    if (!result.replayed) this.#announce(items, result.coordinates)
    return result
  }

  /**
   * A batch touching ephemeral channels: the durable part commits first (all or nothing), then the
   * ephemeral part is appended in memory. Its idempotency key is remembered in memory only.
   */
  async #appendMixed(items: readonly AppendItem[], idempotency?: IdempotencyKey): Promise<AppendResult> {
    const durable = items.filter((item) => !this.#isEphemeral(item.channel))
    const placed = durable.length > 0 ? await this.#writer.call('append', { items: durable }) : undefined
    if (placed) this.#announce(durable, placed.coordinates)
    const memoryItems = items.filter((item) => this.#isEphemeral(item.channel))
    const inMemory = this.#ephemeral.appendNow(memoryItems, idempotency)
    if (inMemory.replayed) return inMemory
    const durableQueue = [...(placed?.coordinates ?? [])]
    const memoryQueue = [...inMemory.coordinates]
    const coordinates: Coordinates[] = items.map((item) =>
      this.#isEphemeral(item.channel) ? memoryQueue.shift()! : durableQueue.shift()!,
    )
    return { coordinates, replayed: false }
  }

  async read(channel: string, after: number, limit: number): Promise<Message[]> {
    if (this.#isEphemeral(channel)) return this.#ephemeral.readNow(channel, after, limit)
    return this.#reads.read(channel, after, limit)
  }

  async info(channel: string): Promise<ChannelInfo | undefined> {
    if (this.#isEphemeral(channel)) return this.#ephemeral.infoNow(channel)
    return this.#reads.info(channel)
  }

  onMessages(listener: MessagesListener): () => void {
    return this.#listeners.add(listener)
  }

  async channels(prefix: string): Promise<string[]> {
    const names = [...this.#reads.names(prefix), ...this.#ephemeral.channelsNow(prefix)]
    return [...new Set(names)].sort()
  }

  async ping(): Promise<void> {
    if (this.#writer.failure) throw this.#writer.failure
    this.#db.prepare('SELECT 1').get()
  }

  async close(): Promise<void> {
    await this.#writer.close()
    this.#db.close()
    this.#unlock()
  }

  #isEphemeral(channel: string): boolean {
    return this.#options.namespaces.settingsFor(channel).ephemeral
  }

  /** Tells listeners of committed messages, built from the payloads this thread still holds. */
  #announce(items: readonly AppendItem[], coordinates: readonly Coordinates[]): void {
    if (items.length === 0) return
    const messages = items.map((item, i) => {
      const { offset, id, time } = coordinates[i]
      return new Message({ ...item, offset, id, time })
    })
    for (const [channel, group] of groupByChannel(messages)) this.#listeners.emit(channel, group)
  }
}
