import type { Broker } from '../../core/broker.js'
import type { Message } from '../../core/message.js'
import type { Consumer, Subscription } from '../../core/subscription.js'
import { encodeMessageJson } from '../../protocol/message-json.js'
import type { PushRegistry } from '../push-registry.js'

export interface SseOptions {
  /** Who the stream is, for presence. */
  readonly client?: string
  readonly retryMs: number
  readonly keepAliveMs: number
  readonly bufferBytes: number
  readonly slowConsumerMs: number
  /** The `event:` of a message; `message` unless given (job streams use the `event` header). */
  readonly eventOf?: (message: Message) => string
  /** The `data:` of a message; its JSON (API.md) unless given (job streams send the payload). */
  readonly dataOf?: (message: Message) => string
}

/** What a stream needs of an HTTP/1.1 or HTTP/2 response. */
export interface SseResponse {
  writeHead(status: number, headers: Record<string, string>): unknown
  write(chunk: string): boolean
  end(): void
  on(event: 'close' | 'drain', listener: () => void): unknown
  readonly writableEnded: boolean
}

/** Where each channel of a stream starts: an offset, or undefined for live only. */
export type StreamStart = ReadonlyMap<string, number | undefined>

/**
 * One server-sent event stream over any number of channels. Each event's `id` is the stream's
 * position: the offset when it has one channel, else the vector `a:5,b:9` of every channel, so a
 * client reconnecting with Last-Event-ID resumes each channel with no gap and no duplicate.
 */
export class SseStream implements Consumer {
  readonly #res: SseResponse
  readonly #broker: Broker
  readonly #options: SseOptions
  readonly #subscriptions: Subscription[] = []
  /** Last offset sent per channel (unknown for a live start until subscribed), in request order. */
  readonly #positions = new Map<string, number | undefined>()
  #chunk = ''
  #flushing = false
  #closed = false
  #keepAlive: NodeJS.Timeout | undefined
  #slowTimer: NodeJS.Timeout | undefined
  #unregister: () => void = () => {}

  get client(): string | undefined {
    return this.#options.client
  }

  constructor(res: SseResponse, broker: Broker, options: SseOptions) {
    this.#res = res
    this.#broker = broker
    this.#options = options
  }

  get congested(): boolean {
    return this.#buffered() + this.#chunk.length > this.#options.bufferBytes
  }

  /** Sends the headers and subscribes every channel from its start. */
  async open(start: StreamStart, registry: PushRegistry): Promise<void> {
    const res = this.#res
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    })
    res.write(`retry: ${this.#options.retryMs}\n\n`)
    this.#unregister = registry.add({ shutdown: () => this.close() }, 'sse')
    res.on('close', () => this.close())
    res.on('drain', () => this.#drained())
    this.#keepAlive = setInterval(() => this.#write(': keep-alive\n\n'), this.#options.keepAliveMs)
    // Known before the first delivery, which may come while later channels are still subscribing.
    for (const [channel, after] of start) this.#positions.set(channel, after)
    try {
      for (const [channel, after] of start) {
        const subscription = await this.#broker.subscribe(channel, after, this)
        if (this.#closed) return this.#broker.unsubscribe(subscription)
        this.#subscriptions.push(subscription)
        if (this.#positions.get(channel) === undefined) this.#positions.set(channel, subscription.position)
      }
    } catch (error) {
      this.#write(
        `event: error\ndata: ${JSON.stringify({ code: 'unavailable', message: (error as Error).message })}\n\n`,
      )
      this.close()
    }
  }

  deliver(subscription: Subscription, messages: readonly Message[]): void {
    const eventOf = this.#options.eventOf
    const dataOf = this.#options.dataOf ?? ((m: Message) => m.encoded('json', encodeMessageJson))
    let chunk = ''
    for (const message of messages) {
      this.#positions.set(subscription.channel, message.offset)
      const id = this.#positions.size <= 1 ? String(message.offset) : this.#vector()
      chunk += `id: ${id}\nevent: ${eventOf ? eventOf(message) : 'message'}\ndata: ${dataOf(message)}\n\n`
    }
    this.#write(chunk)
  }

  failed(_subscription: Subscription, error: Error): void {
    this.#write(`event: error\ndata: ${JSON.stringify({ code: 'unavailable', message: error.message })}\n\n`)
    this.close()
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#keepAlive)
    clearTimeout(this.#slowTimer)
    this.#unregister()
    for (const subscription of this.#subscriptions) this.#broker.unsubscribe(subscription)
    this.#flush()
    this.#res.end()
  }

  /** Every channel's position; a channel still without one is left out (it resumes live). */
  #vector(): string {
    let vector = ''
    for (const [channel, position] of this.#positions)
      if (position !== undefined) vector += `${vector ? ',' : ''}${channel}:${position}`
    return vector
  }

  #write(text: string): void {
    if (this.#closed) return
    this.#chunk += text
    if (this.#flushing) return
    this.#flushing = true
    setImmediate(() => this.#flush())
  }

  #flush(): void {
    this.#flushing = false
    if (this.#chunk === '') return
    const chunk = this.#chunk
    this.#chunk = ''
    if (!this.#res.writableEnded) this.#res.write(chunk)
    if (this.congested) this.#watchSlow()
  }

  #drained(): void {
    if (this.congested || this.#closed) return
    clearTimeout(this.#slowTimer)
    this.#slowTimer = undefined
    for (const subscription of this.#subscriptions) subscription.resume()
  }

  /** Congested for too long: tell the client why, and end; it resumes from its Last-Event-ID. */
  #watchSlow(): void {
    if (this.#slowTimer) return
    this.#slowTimer = setTimeout(() => {
      this.#slowTimer = undefined
      if (!this.congested) return this.#drained()
      this.#res.write(
        `event: error\ndata: ${JSON.stringify({ code: 'slow_consumer', message: 'the stream fell too far behind; reconnect with Last-Event-ID' })}\n\n`,
      )
      this.close()
    }, this.#options.slowConsumerMs)
  }

  #buffered(): number {
    const res = this.#res as { writableLength?: number; stream?: { writableLength: number } }
    return res.stream?.writableLength ?? res.writableLength ?? 0
  }
}

/**
 * Where each channel of a stream starts, from `Last-Event-ID` (header or `last_event_id`), which
 * wins over `after`: a bare offset for a one-channel stream, else `name:offset,…` split at the last
 * `:`. A channel the position does not list starts at `after`, or live.
 */
export function streamStart(
  channels: readonly string[],
  lastEventId: string | undefined,
  after: number | undefined,
): Map<string, number | undefined> {
  const start = new Map<string, number | undefined>(channels.map((c) => [c, after]))
  if (lastEventId === undefined || lastEventId === '') return start
  if (/^\d+$/.test(lastEventId) && channels.length === 1) {
    start.set(channels[0], Number(lastEventId))
    return start
  }
  for (const entry of lastEventId.split(',')) {
    const at = entry.lastIndexOf(':')
    const channel = entry.slice(0, at)
    const offset = entry.slice(at + 1)
    if (at > 0 && start.has(channel) && /^\d+$/.test(offset)) start.set(channel, Number(offset))
  }
  return start
}
