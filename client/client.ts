import { Emitter } from './emitter.js'
import { ConnectionError, InvalidRequestError } from './errors.js'
import { type Fetch, fetchSend, HttpApi, type Send } from './http.js'
import { callQueue, JobHandle, type SubmitOptions, submitJob } from './jobs.js'
import { type ChannelMessage, fromWire, type WireMessage } from './message.js'
import { type Delivery, type MessageHandler, Subscription } from './subscription.js'
import { LongPollTransport } from './transports/longpoll.js'
import { SseTransport } from './transports/sse.js'
import type {
  EventSourceConstructor,
  Transport,
  TransportKind,
  TransportSink,
  WebSocketConstructor,
} from './transports/transport.js'
import { WebSocketTransport } from './transports/websocket.js'
import { Worker, type WorkerHandler, type WorkerOptions } from './worker.js'

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'closed'

export interface ClientOptions {
  /** `auto` (default) tries WebSocket, then SSE, then long polling; a kind forces that transport. */
  readonly transport?: TransportKind | 'auto'
  /** Defaults to `globalThis.WebSocket`; the Node entry point passes `ws`. */
  readonly WebSocket?: WebSocketConstructor
  /** Defaults to `globalThis.EventSource`; the Node entry point passes `eventsource`. */
  readonly EventSource?: EventSourceConstructor
  /** Sends the SDK's HTTP requests; when absent, `send`, else the global `fetch`. */
  readonly fetch?: Fetch
  /** How one HTTP request is sent when no `fetch` is given; the Node entry point's uses undici. */
  readonly send?: Send
  /** Sent with every HTTP request (e.g. `authorization`). */
  readonly headers?: Record<string, string>
  /** First reconnect delay; doubles per failed attempt up to `maxReconnectDelayMs`, with jitter. */
  readonly reconnectDelayMs?: number
  readonly maxReconnectDelayMs?: number
  /** How long a transport may take to open before the next one is tried. */
  readonly openTimeoutMs?: number
  readonly longPollWaitSeconds?: number
  /** Open the push connection only when the first subscription (or `ready()`) needs it. */
  readonly lazy?: boolean
  /** Who this client is, for presence (`[A-Za-z0-9._:@-]`, ≤ 200 characters); anonymous otherwise. */
  readonly clientId?: string
}

export interface SubscribeOptions {
  /** Resume after this offset (0 = from the oldest retained message); omitted = from now on. */
  readonly after?: number
}

export interface PublishOptions {
  readonly headers?: Record<string, string>
  /** For binary payloads (`Uint8Array`); JSON values are sent as `application/json`. */
  readonly contentType?: string
  readonly idempotencyKey?: string
}

export interface PresenceMember {
  readonly client: string
  readonly since: number
  readonly connections: number
}

export interface PresenceEvent {
  readonly event: 'join' | 'leave'
  readonly channel: string
  readonly client: string
}

export interface PublishResult {
  readonly channel: string
  readonly offset: number
}

type ClientEvents = {
  state: [ConnectionState]
  transport: [TransportKind]
  error: [Error]
}

/** API.md's channel names, and the server's own `$…` channels that clients may read. */
const READABLE_CHANNEL = /^\$?[A-Za-z0-9._:-]{1,200}$/

const ORDER: readonly TransportKind[] = ['websocket', 'sse', 'longpoll']

/**
 * One connection to a Switchboard server carrying every subscription of this client. It picks a
 * transport, reconnects with exponential backoff and jitter, and resumes every channel from the
 * last offset it delivered: no gap, no duplicate.
 */
export class Client {
  readonly url: string
  readonly http: HttpApi
  readonly #options: ClientOptions
  readonly #events = new Emitter<ClientEvents>()
  /** Last offset delivered per subscribed channel; a channel is absent while its start is resolved. */
  readonly #positions = new Map<string, number>()
  readonly #subscriptions = new Map<string, Set<Delivery>>()
  #state: ConnectionState = 'disconnected'
  #transport: Transport | undefined
  #attempt = 0
  #retry: ReturnType<typeof setTimeout> | undefined
  #connecting: Promise<void> | undefined

  constructor(url: string, options: ClientOptions = {}) {
    this.url = url.replace(/\/+$/, '')
    this.#options = options
    const send = options.fetch ? fetchSend(options.fetch) : (options.send ?? fetchSend())
    this.http = new HttpApi(this.url, send, options.headers)
    if (!options.lazy) this.#connect()
  }

  get state(): ConnectionState {
    return this.#state
  }

  /** The transport in use while connected. */
  get transport(): TransportKind | undefined {
    return this.#transport?.kind
  }

  on<E extends keyof ClientEvents>(event: E, listener: (...args: ClientEvents[E]) => void): () => void {
    return this.#events.on(event, listener)
  }

  /** Resolves once connected (or rejects after `timeoutMs`). */
  ready(timeoutMs = 10_000): Promise<void> {
    if (this.#state === 'connected') return Promise.resolve()
    if (this.#state === 'disconnected' && !this.#retry) this.#connect()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off()
        reject(new ConnectionError('timeout', `not connected after ${timeoutMs} ms`))
      }, timeoutMs)
      const off = this.on('state', (state) => {
        if (state !== 'connected' && state !== 'closed') return
        off()
        clearTimeout(timer)
        if (state === 'connected') resolve()
        else reject(new ConnectionError('closed', 'the client was closed'))
      })
    })
  }

  /**
   * Every message of `channel` after `options.after` (or from now on), in offset order, to `handler`
   * or to the returned subscription's async iterator. A second subscription to a channel already
   * subscribed joins it where it is.
   */
  subscribe<T = unknown>(
    channel: string,
    handler?: MessageHandler<T>,
    options: SubscribeOptions = {},
  ): Subscription<T> {
    const subscription = new Subscription<T>(channel, handler, (s) => this.#remove(s))
    let set = this.#subscriptions.get(channel)
    if (set) {
      set.add(subscription)
      if (this.#positions.has(channel)) subscription.started()
      return subscription
    }
    set = new Set<Delivery>([subscription])
    this.#subscriptions.set(channel, set)
    if (!READABLE_CHANNEL.test(channel)) {
      queueMicrotask(() =>
        this.#refused(
          channel,
          new InvalidRequestError('invalid_channel', `not a channel name: ${JSON.stringify(channel)}`, 400),
        ),
      )
      return subscription
    }
    if (this.#state === 'disconnected' && !this.#retry) this.#connect()
    const start = options.after !== undefined ? Promise.resolve(options.after) : this.http.lastOffset(channel)
    start.then(
      (after) => {
        if (this.#subscriptions.get(channel) !== set) return
        this.#positions.set(channel, after)
        this.#transport?.subscribe(channel)
        for (const s of set) s.started()
      },
      (error: Error) => this.#refused(channel, error),
    )
    return subscription
  }

  /** Publishes one message; resolves once the server holds it durably. */
  async publish(channel: string, data: unknown, options: PublishOptions = {}): Promise<PublishResult> {
    const path = `/v1/channels/${encodeURIComponent(channel)}/messages`
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(options.headers ?? {}))
      headers[`switchboard-header-${name}`] = value
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey
    if (data instanceof Uint8Array) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream'
      const answer = await this.http.request<PublishResult>(path, { method: 'POST', body: data, headers })
      return answer.body
    }
    const transport = this.#transport
    if (transport?.publish && Object.keys(headers).length === 0) {
      const { offset } = await transport.publish(channel, data)
      return { channel, offset }
    }
    const answer = await this.http.request<PublishResult>(path, {
      method: 'POST',
      body: data ?? null,
      headers,
    })
    return answer.body
  }

  /** Who is subscribed to a channel whose namespace tracks presence. */
  async presence(channel: string): Promise<PresenceMember[]> {
    const answer = await this.http.request<{ clients: PresenceMember[] }>(
      `/v1/channels/${encodeURIComponent(channel)}/presence`,
    )
    return answer.body.clients
  }

  /** Joins and leaves of a channel (`{event: 'join' | 'leave', channel, client}`), as they happen. */
  onPresence(channel: string, handler: (event: PresenceEvent) => void): Subscription<PresenceEvent> {
    return this.subscribe<PresenceEvent>(`$presence:${channel}`, (message) => handler(message.data))
  }

  /** Submits a job; the handle's `id` can be stored and reattached with `job(id)`. */
  submit<R = unknown>(queue: string, data: unknown, options?: SubmitOptions): Promise<JobHandle<R>> {
    return submitJob<R>(this, queue, data, options)
  }

  /** Reattaches to a job by its id, from any process. */
  job<R = unknown>(id: string): JobHandle<R> {
    return new JobHandle<R>(this, id)
  }

  /** RPC: submits to `queue` and waits for a worker's result. */
  call<R = unknown>(queue: string, data: unknown, options?: { timeoutMs?: number }): Promise<R> {
    return callQueue<R>(this, queue, data, options)
  }

  /** Handles the jobs of `queue` with `handler`, `concurrency` at a time. */
  worker<D = unknown, R = unknown>(
    queue: string,
    handler: WorkerHandler<D, R>,
    options?: WorkerOptions,
  ): Worker<D, R> {
    return new Worker<D, R>(this, queue, handler, options)
  }

  /** Closes the connection and ends every subscription. */
  close(): void {
    clearTimeout(this.#retry)
    this.#transport?.close()
    this.#transport = undefined
    for (const set of this.#subscriptions.values()) for (const s of set) s.end()
    this.#subscriptions.clear()
    this.#positions.clear()
    this.#setState('closed')
  }

  #connect(): void {
    if (this.#state === 'closed' || this.#connecting) return
    this.#setState('connecting')
    this.#connecting = this.#open().finally(() => {
      this.#connecting = undefined
    })
  }

  async #open(): Promise<void> {
    let lastError: Error = new ConnectionError('no_transport', 'no transport is available')
    for (const kind of this.#kinds()) {
      const transport = this.#create(kind)
      const channels = [...this.#positions.keys()]
      try {
        await withTimeout(transport.open(channels), this.#options.openTimeoutMs ?? 5000)
      } catch (error) {
        transport.close()
        lastError = error as Error
        continue
      }
      if (this.#state === 'closed') return transport.close()
      this.#transport = transport
      // Channels whose start was resolved while the transport was opening.
      for (const channel of this.#positions.keys())
        if (!channels.includes(channel)) transport.subscribe(channel)
      this.#attempt = 0
      this.#events.emit('transport', kind)
      this.#setState('connected')
      return
    }
    this.#events.emit('error', lastError)
    this.#lost()
  }

  #kinds(): TransportKind[] {
    const forced = this.#options.transport ?? 'auto'
    if (forced !== 'auto') return [forced]
    return ORDER.filter(
      (kind) => (kind !== 'websocket' || this.#WebSocket()) && (kind !== 'sse' || this.#EventSource()),
    )
  }

  #create(kind: TransportKind): Transport {
    const sink = this.#sinkFor(() => transport)
    const transport = this.#build(kind, sink)
    return transport
  }

  #build(kind: TransportKind, sink: TransportSink): Transport {
    if (kind === 'websocket') {
      const WebSocket = this.#WebSocket()
      if (!WebSocket) throw new ConnectionError('no_transport', 'no WebSocket implementation')
      return new WebSocketTransport(this.url, WebSocket, sink, this.#options.clientId)
    }
    if (kind === 'sse') {
      const EventSource = this.#EventSource()
      if (!EventSource) throw new ConnectionError('no_transport', 'no EventSource implementation')
      return new SseTransport(this.url, EventSource, sink, this.#options.clientId)
    }
    return new LongPollTransport(this.http, sink, this.#options.longPollWaitSeconds)
  }

  #WebSocket(): WebSocketConstructor | undefined {
    return this.#options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  }

  #EventSource(): EventSourceConstructor | undefined {
    return this.#options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource
  }

  /** What a transport reports to; a transport that is no longer the current one is not heard. */
  #sinkFor(transport: () => Transport): TransportSink {
    return {
      message: (wire) => this.#deliver(wire),
      position: (channel) => this.#positions.get(channel) ?? 0,
      refused: (channel, error) => this.#refused(channel, error),
      closed: (error) => {
        if (this.#transport !== transport()) return
        this.#transport = undefined
        this.#events.emit('error', error)
        this.#lost()
      },
    }
  }

  #deliver(wire: WireMessage): void {
    const position = this.#positions.get(wire.channel)
    if (position === undefined || wire.offset <= position) return
    this.#positions.set(wire.channel, wire.offset)
    const message: ChannelMessage = fromWire(wire)
    for (const subscription of this.#subscriptions.get(wire.channel) ?? []) subscription.deliver(message)
  }

  #refused(channel: string, error: Error): void {
    for (const subscription of this.#subscriptions.get(channel) ?? []) subscription.end(error)
    this.#subscriptions.delete(channel)
    this.#positions.delete(channel)
    this.#events.emit('error', error)
  }

  #remove(subscription: Delivery): void {
    const set = this.#subscriptions.get(subscription.channel)
    if (!set?.delete(subscription) || set.size > 0) return
    this.#subscriptions.delete(subscription.channel)
    this.#positions.delete(subscription.channel)
    this.#transport?.unsubscribe(subscription.channel)
  }

  #lost(): void {
    if (this.#state === 'closed') return
    this.#setState('disconnected')
    const initial = this.#options.reconnectDelayMs ?? 200
    const ceiling = Math.min(this.#options.maxReconnectDelayMs ?? 10_000, initial * 2 ** this.#attempt)
    this.#attempt += 1
    clearTimeout(this.#retry)
    this.#retry = setTimeout(
      () => {
        this.#retry = undefined
        this.#connect()
      },
      ceiling / 2 + Math.random() * (ceiling / 2),
    )
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return
    this.#state = state
    this.#events.emit('state', state)
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ConnectionError('timeout', `no answer within ${ms} ms`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
