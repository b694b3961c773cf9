import type { Config } from '../../config.js'
import type { Broker } from '../../core/broker.js'
import type { Message } from '../../core/message.js'
import { jsonPayload } from '../../core/payload.js'
import { TokenBucket } from '../../core/rate-limiter.js'
import type { Consumer, Subscription } from '../../core/subscription.js'
import { type ErrorCode, SwitchboardError } from '../../protocol/errors.js'
import type { ClientFrame, Encoded, FrameCodec, ServerFrame } from '../../protocol/frames.js'

/** Why a session ends, as each wire says it (WebSocket close codes 1001/1008/1009/1011). */
export type CloseReason = 'going_away' | 'policy' | 'too_big' | 'server_error' | 'slow_consumer'

/** The byte stream under a session: a WebSocket, or a TCP socket with length-prefixed frames. */
export interface Wire {
  send(frame: Encoded): void
  /** Bytes handed to the wire and not yet written out. */
  readonly buffered: number
  cork(): void
  uncork(): void
  close(reason: CloseReason, detail: string): void
}

export interface SessionLimits {
  readonly maxSubscriptions: number
  /** Unsent bytes above which subscriptions stop taking live messages and read the log instead. */
  readonly bufferBytes: number
  /** How long the wire may stay congested before the session is closed as a slow consumer. */
  readonly slowConsumerMs: number
  readonly maxPayloadBytes: number
  /** Frames a second the client may send (bursts of one second); 0 for no limit. */
  readonly framesPerSecond: number
}

/** A session's limits from the server's. */
export function sessionLimits(limits: Config['limits']): SessionLimits {
  return {
    maxSubscriptions: limits.subscriptionsPerConnection,
    bufferBytes: limits.pushBufferBytes,
    slowConsumerMs: limits.slowConsumerMs,
    maxPayloadBytes: limits.payloadBytes,
    framesPerSecond: limits.frameRatePerSecond,
  }
}

/**
 * The ops of API.md's WebSocket section over any wire: sub, unsub, pub, ping. Decoded frames in,
 * encoded frames out; messages are encoded once per codec and written in one batch per tick.
 */
export class Session implements Consumer {
  readonly client: string
  readonly #broker: Broker
  readonly #codec: FrameCodec
  readonly #wire: Wire
  readonly #limits: SessionLimits
  readonly #subscriptions = new Map<string, Subscription>()
  /** Subscriptions still being set up, so a quick unsub or a second sub is not lost. */
  readonly #pending = new Set<string>()
  #queue: Encoded[] = []
  #queuedBytes = 0
  #flushing = false
  #congestedSince: number | undefined
  #slowTimer: NodeJS.Timeout | undefined
  #closed = false
  readonly #frames: TokenBucket | undefined

  constructor(broker: Broker, codec: FrameCodec, wire: Wire, limits: SessionLimits, client: string) {
    this.client = client
    this.#broker = broker
    this.#codec = codec
    this.#wire = wire
    this.#limits = limits
    this.#frames = limits.framesPerSecond > 0 ? new TokenBucket(limits.framesPerSecond, 0) : undefined
  }

  get subscriptions(): number {
    return this.#subscriptions.size
  }

  get congested(): boolean {
    return this.#wire.buffered + this.#queuedBytes > this.#limits.bufferBytes
  }

  /** One frame from the client. */
  receive(data: Encoded): void {
    let frame: ClientFrame
    try {
      frame = this.#codec.decode(data)
    } catch (error) {
      this.#error(undefined, error)
      return
    }
    if (this.#frames && !this.#frames.take()) {
      const retry = `retry in ${this.#frames.retryAfter} s`
      const message = `more than ${this.#frames.rate} frames per second; this one was not run, ${retry}`
      this.#error(frame.id, new SwitchboardError('rate_limited', message))
      return
    }
    this.#dispatch(frame).catch((error: unknown) => this.#error(frame.id, error))
  }

  deliver(_subscription: Subscription, messages: readonly Message[]): void {
    for (const message of messages) this.#push(this.#codec.message(message))
  }

  failed(subscription: Subscription, error: Error): void {
    this.#drop(subscription.channel)
    this.#send({ op: 'error', channel: subscription.channel, code: 'unavailable', message: error.message })
  }

  /** The wire has written out its buffer: catch up on what was skipped meanwhile. */
  drained(): void {
    if (this.congested || this.#closed) return
    this.#congestedSince = undefined
    clearTimeout(this.#slowTimer)
    this.#slowTimer = undefined
    for (const subscription of this.#subscriptions.values()) subscription.resume()
  }

  /** Stops every subscription; the wire is closing or closed. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#slowTimer)
    for (const subscription of this.#subscriptions.values()) this.#broker.unsubscribe(subscription)
    this.#subscriptions.clear()
    this.#queue = []
  }

  async #dispatch(frame: ClientFrame): Promise<void> {
    switch (frame.op) {
      case 'sub':
        return this.#subscribe(frame)
      case 'unsub': {
        const channel = channelOf(frame)
        this.#pending.delete(channel)
        this.#drop(channel)
        return this.#send({ op: 'ok', id: frame.id })
      }
      case 'pub':
        return this.#publish(frame)
      case 'ping':
        return this.#send({ op: 'pong', id: frame.id })
      case 'presence': {
        const channel = channelOf(frame)
        return this.#send({ op: 'ok', id: frame.id, channel, clients: await this.#broker.members(channel) })
      }
      default:
        throw new SwitchboardError('unknown_op', `unknown op ${JSON.stringify(frame.op).slice(0, 50)}`)
    }
  }

  async #subscribe(frame: ClientFrame): Promise<void> {
    const channel = channelOf(frame)
    const after = frame.after
    if (
      after !== undefined &&
      after !== null &&
      (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0)
    )
      throw new SwitchboardError('invalid_parameter', 'after must be a whole number ≥ 0')
    if (
      !this.#subscriptions.has(channel) &&
      this.#subscriptions.size + this.#pending.size >= this.#limits.maxSubscriptions
    )
      throw new SwitchboardError(
        'too_many_subscriptions',
        `at most ${this.#limits.maxSubscriptions} subscriptions per connection`,
      )
    // A second sub to a channel replaces the first, from its own position.
    this.#drop(channel)
    this.#pending.add(channel)
    const subscription = await this.#broker.subscribe(channel, (after as number | null) ?? undefined, this)
    if (this.#closed || !this.#pending.delete(channel)) return this.#broker.unsubscribe(subscription)
    this.#subscriptions.set(channel, subscription)
    this.#send({ op: 'ok', id: frame.id, channel, offset: subscription.position })
  }

  async #publish(frame: ClientFrame): Promise<void> {
    const channel = channelOf(frame)
    const binary = frame.data instanceof Uint8Array
    if (!binary && frame.data === undefined) throw new SwitchboardError('invalid_body', 'pub needs data')
    const contentType = binary
      ? typeof frame.content_type === 'string' && frame.content_type.length <= 255
        ? frame.content_type
        : 'application/octet-stream'
      : 'application/json'
    const payload = binary ? (frame.data as Uint8Array) : jsonPayload(frame.data)
    const result = await this.#broker.publish([{ channel, headers: {}, contentType, payload }])
    this.#send({ op: 'ok', id: frame.id, offset: result.coordinates[0].offset })
  }

  #drop(channel: string): void {
    const subscription = this.#subscriptions.get(channel)
    if (!subscription) return
    this.#subscriptions.delete(channel)
    this.#broker.unsubscribe(subscription)
  }

  #error(id: unknown, error: unknown): void {
    const known = error instanceof SwitchboardError
    const code: ErrorCode = known ? error.code : 'internal'
    const message = known ? error.message : 'internal error'
    this.#send({ op: 'error', ...(id === undefined ? {} : { id }), code, message })
  }

  #send(frame: ServerFrame): void {
    this.#push(this.#codec.encode(frame))
  }

  /** Queues a frame; the queue goes out in one corked write at the end of the tick. */
  #push(frame: Encoded): void {
    if (this.#closed) return
    this.#queue.push(frame)
    this.#queuedBytes += typeof frame === 'string' ? frame.length : frame.byteLength
    if (this.#flushing) return
    this.#flushing = true
    setImmediate(() => this.#flush())
  }

  #flush(): void {
    this.#flushing = false
    if (this.#closed) return
    const frames = this.#queue
    this.#queue = []
    this.#queuedBytes = 0
    this.#wire.cork()
    for (const frame of frames) this.#wire.send(frame)
    this.#wire.uncork()
    if (this.congested) this.#watchSlow()
  }

  /** Past the second bound — congested for too long — the session is closed with a clear reason. */
  #watchSlow(): void {
    this.#congestedSince ??= Date.now()
    if (this.#slowTimer) return
    this.#slowTimer = setTimeout(() => {
      this.#slowTimer = undefined
      if (!this.congested) return this.drained()
      this.#wire.close(
        'slow_consumer',
        `slow_consumer: more than ${this.#limits.bufferBytes} bytes unread for ${this.#limits.slowConsumerMs} ms; reconnect and resume from your last offset`,
      )
    }, this.#limits.slowConsumerMs)
  }
}

function channelOf(frame: ClientFrame): string {
  if (typeof frame.channel !== 'string')
    throw new SwitchboardError('invalid_channel', 'channel must be a string')
  return frame.channel
}
