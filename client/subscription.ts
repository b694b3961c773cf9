import type { ChannelMessage } from './message.js'

export type MessageHandler<T = unknown> = (message: ChannelMessage<T>) => void

/** What the client holds of a subscription, whatever its message type. */
export interface Delivery {
  readonly channel: string
  deliver(message: ChannelMessage): void
  started(): void
  end(error?: Error): void
}

/**
 * One channel subscribed by a client: messages go to the handler, or wait in order for an async
 * iterator (`for await (const m of sub)`), until `unsubscribe()`.
 */
export class Subscription<T = unknown> implements AsyncIterable<ChannelMessage<T>>, Delivery {
  readonly channel: string
  readonly #handler: MessageHandler<T> | undefined
  readonly #remove: (subscription: Delivery) => void
  readonly #queue: ChannelMessage<T>[] = []
  #wake: (() => void) | undefined
  #ended = false
  /** Set when the server refused the subscription. */
  error: Error | undefined
  /**
   * Resolves once the subscription's starting offset is fixed: a message published after this is
   * delivered, whatever the transport. Rejects if the subscription is refused.
   */
  readonly ready: Promise<void>
  #ready!: { resolve: () => void; reject: (error: Error) => void }

  constructor(channel: string, handler: MessageHandler<T> | undefined, remove: (s: Delivery) => void) {
    this.channel = channel
    this.#handler = handler
    this.#remove = remove
    this.ready = new Promise((resolve, reject) => {
      this.#ready = { resolve, reject }
    })
    this.ready.catch(() => {})
  }

  /** @internal */
  started(): void {
    this.#ready.resolve()
  }

  /** @internal */
  deliver(delivered: ChannelMessage): void {
    if (this.#ended) return
    const message = delivered as ChannelMessage<T>
    if (this.#handler) this.#handler(message)
    else {
      this.#queue.push(message)
      this.#wake?.()
    }
  }

  /** @internal */
  end(error?: Error): void {
    this.error ??= error
    if (error) this.#ready.reject(error)
    else this.#ready.resolve()
    this.#ended = true
    this.#wake?.()
  }

  unsubscribe(): void {
    if (this.#ended) return
    this.end()
    this.#remove(this)
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ChannelMessage<T>> {
    try {
      while (true) {
        const next = this.#queue.shift()
        if (next) {
          yield next
          continue
        }
        if (this.#ended) {
          if (this.error) throw this.error
          return
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve
        })
        this.#wake = undefined
      }
    } finally {
      this.unsubscribe()
    }
  }
}
