import type { MessagesListener } from '../../core/engine.js'
import type { Message } from '../../core/message.js'

/** Reads a channel's messages after an offset (the stream), for filling gaps. */
export type GapReader = (channel: string, after: number, limit: number) => Promise<Message[]>

const GAP_PAGE = 1000

/**
 * Hands appended messages to this node's listeners in offset order per channel, each once. Appends
 * are announced twice: by the appending node from the messages in hand, and by Redis pub/sub to
 * every node. Whichever arrives first is used; anything missing (a lost or late notification) is
 * read from the stream, so listeners never see a gap that the stream does not have.
 */
export class OrderedDelivery {
  readonly #emit: MessagesListener
  readonly #read: GapReader
  readonly #onError: (error: Error) => void
  /** The last offset handed to listeners, per channel seen since this node started. */
  readonly #delivered = new Map<string, number>()
  readonly #chains = new Map<string, Promise<void>>()
  /** Which channels have listeners on this node; the rest are not read. */
  wants: (channel: string) => boolean = () => true

  constructor(emit: MessagesListener, read: GapReader, onError: (error: Error) => void) {
    this.#emit = emit
    this.#read = read
    this.#onError = onError
  }

  /** Messages `first..last` of a channel exist; `inHand` are some of them if this node has them. */
  offer(channel: string, first: number, last: number, inHand?: readonly Message[]): void {
    if (!this.#chains.has(channel) && !this.wants(channel)) {
      // Nobody here listens: nothing to read. A listener that comes later reads the log itself.
      this.#delivered.delete(channel)
      return
    }
    const previous = this.#chains.get(channel) ?? Promise.resolve()
    const next = previous
      .then(() => this.#deliver(channel, first, last, inHand))
      .catch((error: Error) => this.#onError(error))
    this.#chains.set(channel, next)
    void next.then(() => {
      if (this.#chains.get(channel) === next) this.#chains.delete(channel)
    })
  }

  /** Every channel this node has delivered, with its last offset: to check after a reconnect. */
  known(): Map<string, number> {
    return new Map(this.#delivered)
  }

  /** Resolves once every delivery queued so far is done. */
  async settled(): Promise<void> {
    await Promise.all([...this.#chains.values()])
  }

  async #deliver(channel: string, first: number, last: number, inHand?: readonly Message[]): Promise<void> {
    let done = this.#delivered.get(channel) ?? first - 1
    while (done < last) {
      const wanted = done + 1
      const usable = inHand && inHand.length > 0 && inHand[0].offset <= wanted
      const messages = usable
        ? inHand.filter((m) => m.offset > done)
        : await this.#read(channel, done, Math.min(GAP_PAGE, last - done))
      const fresh = messages.filter((m) => m.offset > done && m.offset <= last)
      if (fresh.length === 0) {
        // Trimmed away before this node read it: nothing left to deliver up to `last`.
        this.#delivered.set(channel, last)
        return
      }
      done = fresh[fresh.length - 1].offset
      this.#delivered.set(channel, done)
      this.#emit(channel, fresh)
    }
  }
}
