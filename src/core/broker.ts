import { SwitchboardError } from '../protocol/errors.js'
import type { AppendResult, ChannelInfo, Engine, IdempotencyKey, MessagesListener } from './engine.js'
import { Fanout } from './fanout.js'
import { Hub } from './hub.js'
import { Listeners } from './listeners.js'
import type { MessageHeaders, ReadBatch } from './message.js'
import { readBatch } from './message.js'
import { assertChannel, assertReadableChannel } from './names.js'
import type { Namespaces } from './namespaces.js'
import { announce, LocalPresence, type PresenceMember, type PresenceStore } from './presence.js'
import { type Consumer, Subscription, type SubscriptionStats } from './subscription.js'

export interface PublishItem {
  readonly channel: string
  readonly headers: MessageHeaders
  readonly contentType: string
  readonly payload: Uint8Array
}

export interface BrokerLimits {
  /** Largest payload of one message, in bytes. */
  readonly maxPayloadBytes: number
  /** Most messages in one batch publish. */
  readonly maxBatchMessages: number
  /** Most messages one read returns; larger limits are clamped. */
  readonly maxReadLimit: number
  /** Longest long-poll wait in milliseconds; longer waits are clamped. */
  readonly maxWaitMs: number
  /** Most long polls held at once, over all channels. */
  readonly maxWaiters: number
}

export const DEFAULT_READ_LIMIT = 100

/** The broker: channels as durable ordered logs, publish and poll. Transports call it; it calls the engine. */
export class Broker {
  readonly engine: Engine
  readonly namespaces: Namespaces
  readonly limits: BrokerLimits
  readonly hub: Hub
  /** Live subscriptions (SSE, WebSocket, TCP) by channel. */
  readonly fanout = new Fanout()
  readonly subscriptionStats: SubscriptionStats = { congestedCatchUps: 0 }
  readonly presence: PresenceStore = new LocalPresence()
  #draining = false
  readonly #unlisten: () => void
  readonly #listeners = new Listeners<Parameters<MessagesListener>>()

  /** Told how many messages each publish stored (not a replay), whatever the transport. */
  readonly #published: (count: number) => void

  constructor(
    engine: Engine,
    namespaces: Namespaces,
    limits: BrokerLimits,
    published: (count: number) => void = () => undefined,
  ) {
    this.engine = engine
    this.namespaces = namespaces
    this.limits = limits
    this.#published = published
    this.hub = new Hub((channel, after, limit) => engine.read(channel, after, limit))
    const unlisten = engine.onMessages((channel, messages) => {
      this.hub.deliver(channel, messages)
      this.fanout.deliver(channel, messages)
      this.#listeners.emit(channel, messages)
    })
    engine.setInterest?.(
      (channel) => this.hub.has(channel) || this.fanout.subscribers(channel) > 0 || this.#listeners.size > 0,
    )
    // Only one node sees a dead node's entry expire: that one announces the leave.
    const unexpired = engine.presence?.onExpired((channel, client) => {
      announce(engine, channel, 'leave', client).catch(() => {})
    })
    this.#unlisten = () => {
      unlisten()
      unexpired?.()
    }
  }

  /** Tells `listener` of new messages of any channel, in offset order per channel; returns its remover. */
  onMessages(listener: MessagesListener): () => void {
    return this.#listeners.add(listener)
  }

  /** Stores every item or none; resolves once durable. */
  async publish(items: readonly PublishItem[], idempotency?: IdempotencyKey): Promise<AppendResult> {
    if (items.length === 0) throw new SwitchboardError('invalid_body', 'nothing to publish')
    if (items.length > this.limits.maxBatchMessages) {
      throw new SwitchboardError(
        'payload_too_large',
        `a batch holds at most ${this.limits.maxBatchMessages} messages, got ${items.length}`,
      )
    }
    for (const item of items) {
      assertChannel(item.channel)
      if (item.payload.byteLength > this.limits.maxPayloadBytes) {
        throw new SwitchboardError(
          'payload_too_large',
          `payload of ${item.payload.byteLength} bytes is over the limit of ${this.limits.maxPayloadBytes}`,
        )
      }
    }
    if (this.#draining) throw new SwitchboardError('shutting_down', 'the server is shutting down')
    const result = await this.engine.append(items, idempotency)
    if (!result.replayed) this.#published(items.length)
    return result
  }

  /** Short poll: up to `limit` messages after `after`. */
  async read(channel: string, after: number, limit = DEFAULT_READ_LIMIT): Promise<ReadBatch> {
    assertReadableChannel(channel)
    const clamped = this.clampLimit(limit)
    return readBatch(channel, after, await this.engine.read(channel, after, clamped))
  }

  /**
   * Long poll: answers as soon as a message after `after` exists, or with an empty batch when
   * `waitMs` ends, the caller aborts, or the server drains.
   */
  async poll(
    channel: string,
    after: number,
    limit: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<ReadBatch> {
    assertReadableChannel(channel)
    const clamped = this.clampLimit(limit)
    const wait = Math.min(waitMs, this.limits.maxWaitMs)
    if (wait <= 0 || this.#draining) return this.read(channel, after, clamped)
    if (this.hub.waiting >= this.limits.maxWaiters) {
      throw new SwitchboardError('overloaded', `too many held long polls (limit ${this.limits.maxWaiters})`)
    }
    // Wait first, then read: a message landing between the two still releases the waiter.
    const waiter = this.hub.wait(channel, after, clamped, wait)
    const onAbort = () => waiter.cancel()
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted) waiter.cancel()
    try {
      const now = await this.engine.read(channel, after, clamped)
      if (now.length > 0) {
        waiter.cancel()
        return readBatch(channel, after, now)
      }
      return await waiter.settled
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /**
   * Follows a channel for a push consumer: every message after `after`, or from the channel's
   * current end when `after` is undefined (live only). `unsubscribe` stops it.
   */
  async subscribe(channel: string, after: number | undefined, consumer: Consumer): Promise<Subscription> {
    assertReadableChannel(channel)
    if (after !== undefined && (!Number.isSafeInteger(after) || after < 0))
      throw new SwitchboardError('invalid_parameter', `after must be a whole number ≥ 0, got ${after}`)
    // Registered before the start is known, so nothing published meanwhile is missed.
    const subscription = new Subscription(
      channel,
      after ?? Number.MAX_SAFE_INTEGER,
      consumer,
      (c, a, l) => this.engine.read(c, a, l),
      this.subscriptionStats,
    )
    this.fanout.add(subscription)
    try {
      if (after === undefined) subscription.position = (await this.engine.info(channel))?.lastOffset ?? 0
    } catch (error) {
      this.fanout.remove(subscription)
      throw error
    }
    subscription.start()
    this.#presence(subscription, 'join')
    return subscription
  }

  unsubscribe(subscription: Subscription): void {
    if (subscription.closed) return
    subscription.close()
    this.fanout.remove(subscription)
    this.#presence(subscription, 'leave')
  }

  /** Who is subscribed to a channel whose namespace tracks presence, on every node. */
  async members(channel: string): Promise<PresenceMember[]> {
    assertChannel(channel)
    if (!this.namespaces.settingsFor(channel).presence)
      throw new SwitchboardError(
        'not_found',
        `presence is not enabled for ${channel} (namespace setting "presence")`,
      )
    return this.engine.presence ? this.engine.presence.list(channel) : this.presence.list(channel)
  }

  #presence(subscription: Subscription, event: 'join' | 'leave'): void {
    const client = subscription.consumer.client
    const { channel } = subscription
    if (client === undefined || channel.startsWith('$') || !this.namespaces.settingsFor(channel).presence)
      return
    const changed =
      event === 'join'
        ? this.presence.join(channel, client, Date.now())
        : this.presence.leave(channel, client)
    const shared = this.engine.presence
    if (!shared) {
      if (changed) announce(this.engine, channel, event, client).catch(() => {})
      return
    }
    // Across nodes, the client joins or leaves when the first or last node reports it.
    const member = this.presence.member(channel, client)
    shared
      .update(channel, client, member?.since ?? Date.now(), member?.connections ?? 0)
      .then((result) => result && announce(this.engine, channel, result, client))
      .catch(() => {})
  }

  async info(channel: string): Promise<ChannelInfo | undefined> {
    assertReadableChannel(channel)
    return this.engine.info(channel)
  }

  clampLimit(limit: number): number {
    return Math.max(1, Math.min(limit, this.limits.maxReadLimit))
  }

  /** Stops holding polls: every held one is answered empty, new ones answer at once. */
  drain(): void {
    this.#draining = true
    this.hub.releaseAll()
  }

  get draining(): boolean {
    return this.#draining
  }

  close(): void {
    this.#unlisten()
  }
}
