import type { Message } from './message.js'
import type { Subscription } from './subscription.js'

/**
 * Live messages to the subscriptions of their channel only: a batch for channel C touches C's
 * subscribers and no one else's. Subscriptions that share an encoding share the same Message
 * objects, so each encoded form is computed once (`Message.encoded`).
 */
export class Fanout {
  readonly #channels = new Map<string, Set<Subscription>>()
  #count = 0

  get subscriptions(): number {
    return this.#count
  }

  add(subscription: Subscription): void {
    let set = this.#channels.get(subscription.channel)
    if (!set) {
      set = new Set()
      this.#channels.set(subscription.channel, set)
    }
    if (!set.has(subscription)) this.#count += 1
    set.add(subscription)
  }

  remove(subscription: Subscription): void {
    const set = this.#channels.get(subscription.channel)
    if (!set?.delete(subscription)) return
    this.#count -= 1
    if (set.size === 0) this.#channels.delete(subscription.channel)
  }

  /** How many subscriptions a channel has on this node. */
  subscribers(channel: string): number {
    return this.#channels.get(channel)?.size ?? 0
  }

  deliver(channel: string, messages: readonly Message[]): void {
    const set = this.#channels.get(channel)
    if (!set) return
    for (const subscription of set) subscription.offer(messages)
  }
}
