import { randomUUID } from 'node:crypto'
import type {
  AppendItem,
  AppendResult,
  ChannelInfo,
  Cursors,
  Engine,
  EngineOptions,
  IdempotencyKey,
  JobStore,
  MessagesListener,
} from '../core/engine.js'
import { Listeners } from '../core/listeners.js'
import { groupByChannel, type Message } from '../core/message.js'
import { MemoryJobs } from './memory-jobs.js'
import { MemoryIdempotency, MemoryLog } from './memory-log.js'

/** Channels in process memory: for tests, development and ephemeral channels. Nothing survives a restart. */
export class MemoryEngine implements Engine {
  readonly kind = 'memory'
  readonly #options: EngineOptions
  readonly #logs = new Map<string, MemoryLog>()
  readonly #idempotency = new MemoryIdempotency()
  readonly #listeners = new Listeners<Parameters<MessagesListener>>()
  readonly cursors: Cursors = new MemoryCursors()
  readonly jobs: JobStore

  constructor(options: EngineOptions) {
    this.#options = options
    this.jobs = new MemoryJobs(
      (items) => this.appendNow(items).coordinates,
      (channel) => this.#logs.delete(channel),
      options.idempotencyWindowMs,
      options.jobRetentionMs,
    )
  }

  async append(items: readonly AppendItem[], idempotency?: IdempotencyKey): Promise<AppendResult> {
    return this.appendNow(items, idempotency)
  }

  /** The synchronous append, for engines that keep some channels here. */
  appendNow(items: readonly AppendItem[], idempotency?: IdempotencyKey): AppendResult {
    const now = Date.now()
    if (idempotency) {
      const earlier = this.#idempotency.get(idempotency.scope, idempotency.key, now)
      if (earlier) return { coordinates: earlier, replayed: true }
    }
    const appended = items.map((item) =>
      this.#log(item.channel).append({
        id: randomUUID(),
        time: now,
        headers: item.headers,
        contentType: item.contentType,
        payload: item.payload,
      }),
    )
    const coordinates = appended.map(({ channel, offset, id, time }) => ({ channel, offset, id, time }))
    for (const [channel, messages] of groupByChannel(appended)) {
      this.#logs.get(channel)?.trim(this.#options.settingsFor(channel), now)
      this.#listeners.emit(channel, messages)
    }
    if (idempotency) {
      const expiresAt = now + this.#options.idempotencyWindowMs
      this.#idempotency.set(idempotency.scope, idempotency.key, coordinates, expiresAt, now)
    }
    return { coordinates, replayed: false }
  }

  async read(channel: string, after: number, limit: number): Promise<Message[]> {
    return this.readNow(channel, after, limit)
  }

  readNow(channel: string, after: number, limit: number): Message[] {
    const log = this.#logs.get(channel)
    if (!log) return []
    log.trim(this.#options.settingsFor(channel), Date.now())
    return log.read(after, limit)
  }

  async info(channel: string): Promise<ChannelInfo | undefined> {
    return this.infoNow(channel)
  }

  infoNow(channel: string): ChannelInfo | undefined {
    const log = this.#logs.get(channel)
    if (!log) return undefined
    log.trim(this.#options.settingsFor(channel), Date.now())
    return log.info()
  }

  onMessages(listener: MessagesListener): () => void {
    return this.#listeners.add(listener)
  }

  async channels(prefix: string): Promise<string[]> {
    return this.channelsNow(prefix)
  }

  channelsNow(prefix: string): string[] {
    return [...this.#logs.keys()].filter((name) => name.startsWith(prefix)).sort()
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  #log(channel: string): MemoryLog {
    let log = this.#logs.get(channel)
    if (!log) {
      log = new MemoryLog(channel)
      this.#logs.set(channel, log)
    }
    return log
  }
}

/** Cursors in a map: gone with the process, like the memory engine's channels. */
class MemoryCursors implements Cursors {
  readonly #values = new Map<string, number>()

  async get(name: string): Promise<number | undefined> {
    return this.#values.get(name)
  }

  async set(name: string, offset: number): Promise<void> {
    this.#values.set(name, offset)
  }

  async list(prefix: string): Promise<Map<string, number>> {
    return new Map([...this.#values].filter(([name]) => name.startsWith(prefix)))
  }
}
