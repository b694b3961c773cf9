import type { Message } from './message.js'

/** Where a subscription's messages go: one client connection, whatever its wire. */
export interface Consumer {
  /** Who the connection is, for presence; anonymous when undefined. */
  readonly client?: string
  /** True while the connection holds more unsent bytes than its soft bound: no more live messages. */
  readonly congested: boolean
  /** Messages of one subscription, in offset order, never seen before by it. */
  deliver(subscription: Subscription, messages: readonly Message[]): void
  /** The subscription failed (the engine could not be read): the consumer decides what to tell. */
  failed(subscription: Subscription, error: Error): void
}

export type ReadLog = (channel: string, after: number, limit: number) => Promise<readonly Message[]>

/** Counters shared by a node's subscriptions, for /v1/stats and metrics. */
export interface SubscriptionStats {
  /** Times a live subscription fell back to reading the log because its consumer was congested. */
  congestedCatchUps: number
}

const PAGE = 500

/**
 * One channel followed by one consumer from a position: every message after it, in offset order,
 * no gap, no duplicate. It reads retained messages from the log (catch-up), then takes live ones
 * from the fan-out. When the consumer is congested, or live messages skip offsets (another node
 * wrote them), it drops back to reading the log, so a slow consumer costs a position, not memory.
 */
export class Subscription {
  readonly channel: string
  readonly consumer: Consumer
  /** The last offset delivered. */
  position: number
  readonly #read: ReadLog
  readonly #stats: SubscriptionStats | undefined
  #live = false
  #reading = false
  #closed = false
  /** Highest offset announced while reading the log: the read must reach it before going live. */
  #announced = 0

  constructor(
    channel: string,
    position: number,
    consumer: Consumer,
    read: ReadLog,
    stats?: SubscriptionStats,
  ) {
    this.channel = channel
    this.position = position
    this.consumer = consumer
    this.#read = read
    this.#stats = stats
  }

  get live(): boolean {
    return this.#live
  }

  /** Starts catching up from the log. Call once the subscription is registered for live messages. */
  start(): void {
    this.#catchUp()
  }

  /** Live messages of the channel, from the fan-out. */
  offer(messages: readonly Message[]): void {
    if (this.#closed || messages.length === 0) return
    const last = messages[messages.length - 1].offset
    if (last <= this.position) return
    if (!this.#live || this.consumer.congested) {
      if (this.#live && this.#stats) this.#stats.congestedCatchUps += 1
      this.#announced = Math.max(this.#announced, last)
      this.#live = false
      if (!this.consumer.congested) this.#catchUp()
      return
    }
    const fresh =
      messages[0].offset > this.position ? messages : messages.filter((m) => m.offset > this.position)
    if (fresh[0].offset !== this.position + 1) {
      this.#announced = last
      this.#live = false
      this.#catchUp()
      return
    }
    this.position = last
    this.consumer.deliver(this, fresh)
  }

  /** The consumer has room again: catch up on what was skipped while it was congested. */
  resume(): void {
    if (!this.#live) this.#catchUp()
  }

  close(): void {
    this.#closed = true
  }

  get closed(): boolean {
    return this.#closed
  }

  #catchUp(): void {
    if (this.#reading || this.#closed) return
    this.#reading = true
    this.#readPages().then(
      () => {
        this.#reading = false
      },
      (error: Error) => {
        this.#reading = false
        if (!this.#closed) this.consumer.failed(this, error)
      },
    )
  }

  async #readPages(): Promise<void> {
    while (!this.#closed) {
      if (this.consumer.congested) return
      const page = await this.#read(this.channel, this.position, PAGE)
      if (this.#closed) return
      const fresh = page.filter((m) => m.offset > this.position)
      if (fresh.length > 0) {
        this.position = fresh[fresh.length - 1].offset
        this.consumer.deliver(this, fresh)
      }
      // Caught up: nothing more in the log, and nothing announced beyond what was read.
      if (page.length < PAGE && this.#announced <= this.position) {
        this.#live = true
        return
      }
    }
  }
}
