import { randomUUID } from 'node:crypto'
import type {
  AppendItem,
  AppendResult,
  ChannelInfo,
  Coordinates,
  Cursors,
  Engine,
  EngineOptions,
  IdempotencyKey,
  MessagesListener,
} from '../../core/engine.js'
import { Listeners } from '../../core/listeners.js'
import { groupByChannel, Message } from '../../core/message.js'
import { SwitchboardError } from '../../protocol/errors.js'
import { MemoryEngine } from '../memory.js'
import { connect, parseRedisUrl, type RedisClient } from './connection.js'
import { RedisCursors } from './cursors.js'
import { OrderedDelivery } from './delivery.js'
import { JOB_CHANGE, JOB_FRONT, JOB_PURGE, JOB_SUBMIT } from './job-scripts.js'
import { RedisJobs } from './jobs.js'
import { RedisKeys } from './keys.js'
import { RedisPresence } from './presence.js'
import { PRESENCE_LIST, PRESENCE_SWEEP, PRESENCE_UPDATE } from './presence-scripts.js'
import { APPEND, INFO, READ } from './scripts.js'

export interface RedisEngineOptions extends EngineOptions {
  /** `redis://`, `rediss://`, `redis+sentinel://…/master` or `redis+cluster://h1:p1,h2:p2`. */
  readonly url: string
  /** Put in front of every key, so that several deployments (or tests) share one Redis. */
  readonly prefix: string
  /** Command connections per node; commands are pipelined over them. */
  readonly poolSize?: number
  /** Where warnings go (the persistence check at startup). */
  readonly warn?: (message: string) => void
  /** `always` expects Redis to fsync its AOF before answering. */
  readonly fsync?: 'always' | 'os'
  /** How long a node's presence entries outlive it (default 30 s). */
  readonly presenceTtlMs?: number
}

type Entry = [Buffer, Buffer[]]

interface Scripted {
  sbAppend(keys: number, ...args: (string | Buffer | number)[]): Promise<(number | string)[]>
  sbReadBuffer(keys: number, ...args: (string | number)[]): Promise<Entry[]>
  sbInfo(keys: number, ...args: (string | number)[]): Promise<[string, string, number, string] | null>
}

/**
 * Channels on Redis Streams, shared by every node on the same Redis and prefix. A channel is a
 * stream whose entry ids are `<offset>-0` and a hash with its offset counter, both written by one
 * Lua script per batch. Appends are announced on one pub/sub channel; each node reads any gap from
 * the stream. Ephemeral channels stay in this node's memory, like the SQLite engine's.
 */
export class RedisEngine implements Engine {
  readonly kind = 'redis'
  readonly cursors: Cursors
  readonly jobs: RedisJobs
  readonly presence: RedisPresence
  readonly #options: RedisEngineOptions
  readonly #keys: RedisKeys
  readonly #pool: RedisClient[]
  readonly #subscriber: RedisClient
  readonly #listeners = new Listeners<Parameters<MessagesListener>>()
  readonly #delivery: OrderedDelivery
  readonly #ephemeral: MemoryEngine
  /** Appends of this node in flight per channel, and the notifications that came meanwhile. */
  readonly #appending = new Map<string, number>()
  readonly #deferred = new Map<string, [number, number][]>()
  /** Channels this node put in the registry since its subscriber connection last came back. */
  readonly #registered = new Set<string>()
  readonly #cluster: boolean
  #turn = 0
  #closed = false
  #connected = false
  readonly #firstConnection: Promise<void>

  constructor(options: RedisEngineOptions) {
    this.#options = options
    this.#cluster = parseRedisUrl(options.url).scheme === 'redis+cluster'
    this.#keys = new RedisKeys(options.prefix)
    this.#pool = Array.from({ length: Math.max(1, options.poolSize ?? 2) }, () => this.#open(false))
    this.#subscriber = this.#open(true)
    this.#firstConnection = firstReady(this.#pool, FIRST_CONNECTION_MS).then(() => {
      this.#connected = true
    })
    this.cursors = new RedisCursors(
      (command) => this.#guard(() => command(this.#client())),
      this.#keys.cursors,
    )
    this.#delivery = new OrderedDelivery(
      (channel, messages) => this.#listeners.emit(channel, messages),
      (channel, after, limit) => this.#readStream(channel, after, limit),
      (error) => options.warn?.(`redis notification gap could not be read: ${error.message}`),
    )
    this.#ephemeral = new MemoryEngine({
      settingsFor: options.settingsFor,
      idempotencyWindowMs: options.idempotencyWindowMs,
    })
    this.#ephemeral.onMessages((channel, messages) => this.#listeners.emit(channel, messages))
    const node = randomUUID()
    const run = <T>(command: (client: RedisClient) => Promise<T>) =>
      this.#guard(() => command(this.#client()))
    this.presence = new RedisPresence({ keys: this.#keys, run, node, ttlMs: options.presenceTtlMs ?? 30_000 })
    this.jobs = new RedisJobs({
      keys: this.#keys,
      run,
      writeOwn: (channels, write, written) => this.#writeOwn(channels, write, written),
      settingsFor: options.settingsFor,
      node,
      retentionMs: options.jobRetentionMs ?? DAY_MS,
      idempotencyWindowMs: options.idempotencyWindowMs,
    })
    this.#listen()
    void this.#checkPersistence()
  }

  async append(items: readonly AppendItem[], idempotency?: IdempotencyKey): Promise<AppendResult> {
    if (items.some((item) => this.#isEphemeral(item.channel))) return this.#appendMixed(items, idempotency)
    return this.#appendDurable(items, idempotency)
  }

  /** Durable part first (all or nothing), then the ephemeral part in memory, as the SQLite engine does. */
  async #appendMixed(items: readonly AppendItem[], idempotency?: IdempotencyKey): Promise<AppendResult> {
    const durable = items.filter((item) => !this.#isEphemeral(item.channel))
    const placed = durable.length > 0 ? await this.#appendDurable(durable) : undefined
    const inMemory = this.#ephemeral.appendNow(
      items.filter((item) => this.#isEphemeral(item.channel)),
      idempotency,
    )
    if (inMemory.replayed) return inMemory
    const durableQueue = [...(placed?.coordinates ?? [])]
    const memoryQueue = [...inMemory.coordinates]
    const coordinates: Coordinates[] = items.map((item) =>
      this.#isEphemeral(item.channel) ? memoryQueue.shift()! : durableQueue.shift()!,
    )
    return { coordinates, replayed: false }
  }

  async #appendDurable(items: readonly AppendItem[], idempotency?: IdempotencyKey): Promise<AppendResult> {
    if (items.length === 0) return { coordinates: [], replayed: false }
    const now = Date.now()
    const channels = [...new Set(items.map((item) => item.channel))]
    if (this.#cluster && channels.length > 1) {
      throw new SwitchboardError(
        'invalid_body',
        `on a Redis Cluster a batch keeps to one channel (each channel has its own slot), got ${channels.length}: publish them in separate batches`,
      )
    }
    await this.#register(channels)
    const ids = items.map(() => randomUUID())
    const keys = [
      this.#idempotencyKey(channels[0], idempotency),
      ...channels.flatMap((channel) => [this.#keys.stream(channel), this.#keys.meta(channel)]),
    ]
    const record = JSON.stringify({ c: items.map((item) => item.channel), i: ids, t: now })
    const args: (string | Buffer | number)[] = [
      now,
      this.#options.idempotencyWindowMs,
      idempotency ? '1' : '0',
      record,
      this.#keys.notify,
      channels.length,
    ]
    for (const channel of channels) {
      const settings = this.#options.settingsFor(channel)
      args.push(settings.maxMessages, settings.maxAgeMs, channel)
    }
    items.forEach((item, i) => {
      args.push(
        channels.indexOf(item.channel) + 1,
        ids[i],
        item.contentType,
        JSON.stringify(item.headers),
        Buffer.from(item.payload.buffer, item.payload.byteOffset, item.payload.byteLength),
      )
    })
    const answer = await this.#writeOwn(
      channels,
      () => this.#guard(() => this.#scripted().sbAppend(keys.length, ...keys, ...args)),
      (answer) =>
        Number(answer[0]) === 1
          ? []
          : items.map(
              (item, i) => new Message({ ...item, offset: Number(answer[i + 1]), id: ids[i], time: now }),
            ),
    )
    if (Number(answer[0]) === 1) return { coordinates: fromRecord(String(answer[1])), replayed: true }
    const coordinates = items.map((item, i) => ({
      channel: item.channel,
      offset: Number(answer[i + 1]),
      id: ids[i],
      time: now,
    }))
    return { coordinates, replayed: false }
  }

  /** On a Cluster the key lives in the channel's slot, the only one the append script may touch. */
  #idempotencyKey(channel: string, idempotency: IdempotencyKey | undefined): string {
    if (!idempotency) return this.#keys.meta(channel)
    return this.#cluster
      ? this.#keys.channelIdempotency(channel, idempotency.scope, idempotency.key)
      : this.#keys.idempotency(idempotency.scope, idempotency.key)
  }

  /**
   * Adds channels to the registry that `channels(prefix)` lists, once per node (another slot than
   * the channels' on a Cluster, so not in the append script). Before the append: a listed channel
   * may be empty for a moment, a written one is never unlisted.
   */
  async #register(channels: readonly string[]): Promise<void> {
    const fresh = channels.filter((channel) => !this.#registered.has(channel))
    if (fresh.length === 0) return
    await this.#guard(() => this.#client().zadd(this.#keys.registry, ...fresh.flatMap((name) => [0, name])))
    if (this.#registered.size + fresh.length > REGISTERED_MAX) this.#registered.clear()
    for (const channel of fresh) this.#registered.add(channel)
  }

  /**
   * Runs a script of this node's that appends to `channels`, then hands the messages it wrote to
   * this node's listeners. Notifications of those channels that arrive meanwhile (the script's own
   * among them) wait for it, so that nothing is read back from the stream that is in hand.
   */
  async #writeOwn<T>(
    channels: readonly string[],
    write: () => Promise<T>,
    written: (result: T) => readonly Message[],
  ): Promise<T> {
    for (const channel of channels) this.#appending.set(channel, (this.#appending.get(channel) ?? 0) + 1)
    try {
      const result = await write()
      for (const [channel, group] of groupByChannel(written(result))) {
        this.#delivery.offer(channel, group[0].offset, group[group.length - 1].offset, group)
      }
      return result
    } finally {
      for (const channel of channels) this.#appended(channel)
    }
  }

  async read(channel: string, after: number, limit: number): Promise<Message[]> {
    if (this.#isEphemeral(channel)) return this.#ephemeral.readNow(channel, after, limit)
    return this.#readStream(channel, after, limit)
  }

  async #readStream(channel: string, after: number, limit: number): Promise<Message[]> {
    if (limit <= 0) return []
    const settings = this.#options.settingsFor(channel)
    const entries = await this.#guard(() =>
      this.#scripted().sbReadBuffer(
        2,
        this.#keys.stream(channel),
        this.#keys.meta(channel),
        Date.now(),
        settings.maxMessages,
        settings.maxAgeMs,
        Math.max(0, Math.floor(after)),
        limit,
      ),
    )
    return entries.map((entry) => toMessage(channel, entry))
  }

  async info(channel: string): Promise<ChannelInfo | undefined> {
    if (this.#isEphemeral(channel)) return this.#ephemeral.infoNow(channel)
    const settings = this.#options.settingsFor(channel)
    const answer = await this.#guard(() =>
      this.#scripted().sbInfo(
        2,
        this.#keys.stream(channel),
        this.#keys.meta(channel),
        Date.now(),
        settings.maxMessages,
        settings.maxAgeMs,
      ),
    )
    if (!answer) return undefined
    const [last, bytes, length, firstId] = answer
    const lastOffset = Number(last)
    const firstOffset = firstId ? Number.parseInt(firstId, 10) : lastOffset + 1
    return { channel, firstOffset, lastOffset, messages: Number(length), bytes: Number(bytes) }
  }

  onMessages(listener: MessagesListener): () => void {
    return this.#listeners.add(listener)
  }

  async channels(prefix: string): Promise<string[]> {
    const start = prefix === '' ? '-' : `[${prefix}`
    const end = prefix === '' ? '+' : `(${prefix}\u{10ffff}`
    const durable = await this.#guard(() => this.#client().zrangebylex(this.#keys.registry, start, end))
    const names = [
      ...durable.filter((name) => name.startsWith(prefix)),
      ...this.#ephemeral.channelsNow(prefix),
    ]
    return [...new Set(names)].sort()
  }

  async ping(): Promise<void> {
    await this.#guard(() => this.#client().ping())
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.presence.close()
    await this.#delivery.settled()
    await Promise.all(
      [...this.#pool, this.#subscriber].map((client) => client.quit().catch(() => client.disconnect())),
    )
  }

  #open(subscriber: boolean): RedisClient {
    const client = connect(this.#options.url, subscriber)
    let reported = false
    client.on('error', (error: Error) => {
      // ioredis reconnects by itself; one line per outage, not one per attempt.
      if (!reported && !this.#closed) this.#options.warn?.(`redis connection error: ${error.message}`)
      reported = true
    })
    client.on('ready', () => {
      reported = false
    })
    if (!subscriber) {
      client.defineCommand('sbAppend', { lua: APPEND })
      client.defineCommand('sbRead', { lua: READ })
      client.defineCommand('sbInfo', { lua: INFO })
      client.defineCommand('sbJobSubmit', { lua: JOB_SUBMIT })
      client.defineCommand('sbJobChange', { lua: JOB_CHANGE })
      client.defineCommand('sbJobFront', { lua: JOB_FRONT })
      client.defineCommand('sbJobPurge', { lua: JOB_PURGE })
      client.defineCommand('sbPresenceUpdate', { lua: PRESENCE_UPDATE })
      client.defineCommand('sbPresenceList', { lua: PRESENCE_LIST })
      client.defineCommand('sbPresenceSweep', { lua: PRESENCE_SWEEP })
    }
    return client
  }

  /** One of this node's appends to `channel` ended: notifications held meanwhile are offered. */
  #appended(channel: string): void {
    const left = (this.#appending.get(channel) ?? 1) - 1
    if (left > 0) return void this.#appending.set(channel, left)
    this.#appending.delete(channel)
    const deferred = this.#deferred.get(channel)
    this.#deferred.delete(channel)
    for (const [first, last] of deferred ?? []) this.#delivery.offer(channel, first, last)
  }

  setInterest(wants: (channel: string) => boolean): void {
    this.#delivery.wants = wants
  }

  #client(): RedisClient {
    this.#turn = (this.#turn + 1) % this.#pool.length
    return this.#pool[this.#turn]
  }

  #scripted(): Scripted {
    return this.#client() as unknown as Scripted
  }

  /** Notifications from every node; after a reconnect, channels this node knows are checked for gaps. */
  #listen(): void {
    const subscriber = this.#subscriber
    subscriber.on('message', (topic: string, text: string) => {
      if (topic === this.#keys.jobsNotify) return this.jobs.received(text)
      const [channel, first, last] = text.split('\n')
      if (channel === undefined || last === undefined) return
      // This node's own append announces itself with the messages in hand: wait for it rather
      // than read from the stream what is about to arrive anyway.
      const deferred = this.#appending.has(channel) ? this.#deferred.get(channel) : undefined
      if (this.#appending.has(channel)) {
        if (deferred) deferred.push([Number(first), Number(last)])
        else this.#deferred.set(channel, [[Number(first), Number(last)]])
        return
      }
      this.#delivery.offer(channel, Number(first), Number(last))
    })
    let connectedOnce = false
    subscriber.on('ready', () => {
      if (connectedOnce) {
        // Redis may have lost what it held (no persistence): register channels again.
        this.#registered.clear()
        void this.#catchUp()
        this.jobs.resync()
      }
      connectedOnce = true
    })
    void subscriber.subscribe(this.#keys.notify, this.#keys.jobsNotify).catch(() => undefined)
  }

  async #catchUp(): Promise<void> {
    for (const [channel, delivered] of this.#delivery.known()) {
      const info = await this.info(channel).catch(() => undefined)
      if (info && info.lastOffset > delivered) this.#delivery.offer(channel, delivered + 1, info.lastOffset)
    }
  }

  async #checkPersistence(): Promise<void> {
    const warn = this.#options.warn
    if (!warn || this.#options.fsync === 'os') return
    try {
      await this.#firstConnection
      const client = this.#pool[0]
      const [, appendonly] = (await client.config('GET', 'appendonly')) as string[]
      const [, appendfsync] = (await client.config('GET', 'appendfsync')) as string[]
      if (appendonly !== 'yes' || appendfsync !== 'always') {
        warn(
          `fsync=always asks for every acknowledged write to be on disk, but this Redis has appendonly=${appendonly} appendfsync=${appendfsync}: acknowledged messages can be lost if Redis stops. Configure "appendonly yes" and "appendfsync always", or run with --fsync os.`,
        )
      }
    } catch (error) {
      warn(
        `could not check Redis persistence (CONFIG GET refused: ${(error as Error).message}); make sure it runs with appendonly yes and appendfsync always for fsync=always`,
      )
    }
  }

  #isEphemeral(channel: string): boolean {
    return this.#options.settingsFor(channel).ephemeral
  }

  /**
   * A lost connection, or a Redis that cannot take writes for now (a replica during a fail-over,
   * loading, a Cluster moving slots), becomes `engine_unavailable` (503, retry); script errors stay
   * internal.
   */
  async #guard<T>(command: () => Promise<T>): Promise<T> {
    try {
      // Until the first connection, wait for it (bounded); afterwards fail fast.
      if (!this.#connected) await this.#firstConnection
      return await command()
    } catch (error) {
      const { name, message } = error as Error
      if (error instanceof SwitchboardError || (name === 'ReplyError' && !PASSING.test(message))) throw error
      throw new SwitchboardError('engine_unavailable', `redis is not answering: ${message}`)
    }
  }
}

const FIRST_CONNECTION_MS = 3000
/** Redis's answers for a state that passes by itself. */
const PASSING = /^(READONLY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY)\b/
const REGISTERED_MAX = 100_000
const DAY_MS = 24 * 3600 * 1000

/** Resolves once every client is ready, or after `timeoutMs` (commands then fail fast). */
async function firstReady(clients: readonly RedisClient[], timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const ready = Promise.all(
    clients.map((client) =>
      client.status === 'ready' ? undefined : new Promise((resolve) => client.once('ready', resolve)),
    ),
  )
  const late = new Promise((resolve) => {
    timer = setTimeout(resolve, timeoutMs)
  })
  await Promise.race([ready, late])
  clearTimeout(timer)
}

function toMessage(channel: string, [id, fields]: Entry): Message {
  const values = new Map<string, Buffer>()
  for (let k = 0; k < fields.length; k += 2) values.set(fields[k].toString(), fields[k + 1])
  return new Message({
    channel,
    offset: Number.parseInt(id.toString(), 10),
    id: values.get('i')?.toString() ?? '',
    time: Number(values.get('t')?.toString()),
    contentType: values.get('c')?.toString() ?? '',
    headers: JSON.parse(values.get('h')?.toString() ?? '{}'),
    payload: values.get('p') ?? Buffer.alloc(0),
  })
}

/** The coordinates of a replayed batch: the first call's record plus the offsets Redis gave it. */
function fromRecord(stored: string): Coordinates[] {
  const bar = stored.lastIndexOf('|')
  const record = JSON.parse(stored.slice(0, bar)) as { c: string[]; i: string[]; t: number }
  const offsets = stored
    .slice(bar + 1)
    .split(',')
    .map(Number)
  return record.c.map((channel, k) => ({ channel, offset: offsets[k], id: record.i[k], time: record.t }))
}
