import { isRetryable } from '../errors.js'
import type { HttpApi } from '../http.js'
import type { Transport, TransportSink } from './transport.js'

/** One long poll per channel, each resuming from the client's position: works wherever HTTP does. */
export class LongPollTransport implements Transport {
  readonly kind = 'longpoll'
  readonly #http: HttpApi
  readonly #sink: TransportSink
  readonly #waitSeconds: number
  readonly #polls = new Map<string, AbortController>()
  #done = false

  constructor(http: HttpApi, sink: TransportSink, waitSeconds = 25) {
    this.#http = http
    this.#sink = sink
    this.#waitSeconds = waitSeconds
  }

  async open(channels: readonly string[]): Promise<void> {
    // One short read proves the server answers before the transport counts as open.
    await this.#http.request('/healthz')
    for (const channel of channels) this.subscribe(channel)
  }

  subscribe(channel: string): void {
    if (this.#polls.has(channel) || this.#done) return
    const controller = new AbortController()
    this.#polls.set(channel, controller)
    this.#loop(channel, controller.signal).catch((error: Error) => {
      if (controller.signal.aborted || this.#done) return
      if (!isRetryable(error)) {
        this.#polls.delete(channel)
        return this.#sink.refused(channel, error)
      }
      this.close()
      this.#sink.closed(error)
    })
  }

  unsubscribe(channel: string): void {
    this.#polls.get(channel)?.abort()
    this.#polls.delete(channel)
  }

  close(): void {
    this.#done = true
    for (const controller of this.#polls.values()) controller.abort()
    this.#polls.clear()
  }

  async #loop(channel: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const batch = await this.#http.read(channel, this.#sink.position(channel), {
        wait: this.#waitSeconds,
        signal,
      })
      for (const message of batch.messages) this.#sink.message(message)
    }
  }
}
