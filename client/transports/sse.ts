import { ConnectionError } from '../errors.js'
import type { WireMessage } from '../message.js'
import type { EventSourceConstructor, EventSourceLike, Transport, TransportSink } from './transport.js'

/**
 * Every channel over one server-sent event stream. The set of channels of a stream is fixed, so a
 * change of subscriptions reopens it from the positions the client holds: no gap, no duplicate.
 */
export class SseTransport implements Transport {
  readonly kind = 'sse'
  readonly #baseUrl: string
  readonly #EventSource: EventSourceConstructor
  readonly #sink: TransportSink
  readonly #channels = new Set<string>()
  #source: EventSourceLike | undefined
  readonly #clientId: string | undefined
  #reopening = false
  #done = false

  constructor(baseUrl: string, EventSource: EventSourceConstructor, sink: TransportSink, clientId?: string) {
    this.#clientId = clientId
    this.#baseUrl = baseUrl
    this.#EventSource = EventSource
    this.#sink = sink
  }

  async open(channels: readonly string[]): Promise<void> {
    for (const channel of channels) this.#channels.add(channel)
    await this.#connect()
  }

  subscribe(channel: string): void {
    this.#channels.add(channel)
    this.#reopenSoon()
  }

  unsubscribe(channel: string): void {
    if (this.#channels.delete(channel)) this.#reopenSoon()
  }

  close(): void {
    this.#done = true
    this.#source?.close()
    this.#source = undefined
  }

  /** Opens the stream of the current channels; resolves once the server accepted it. */
  #connect(): Promise<void> {
    this.#source?.close()
    this.#source = undefined
    if (this.#channels.size === 0) return Promise.resolve()
    const params = new URLSearchParams()
    const vector: string[] = []
    for (const channel of this.#channels) {
      params.append('channel', channel)
      vector.push(`${channel}:${this.#sink.position(channel)}`)
    }
    params.set('last_event_id', vector.join(','))
    if (this.#clientId) params.set('client', this.#clientId)
    return new Promise((resolve, reject) => {
      const source = new this.#EventSource(`${this.#baseUrl}/v1/events?${params}`)
      this.#source = source
      let opened = false
      source.onopen = () => {
        opened = true
        resolve()
      }
      source.onmessage = (event) => {
        if (source === this.#source) this.#sink.message(JSON.parse(event.data) as WireMessage)
      }
      // The client resumes from its own positions, so the EventSource's own retry is not used.
      source.onerror = () => {
        source.close()
        if (source !== this.#source) return
        this.#source = undefined
        const error = new ConnectionError('connection_closed', 'event stream closed')
        if (!opened) reject(error)
        else if (!this.#done) {
          this.#done = true
          this.#sink.closed(error)
        }
      }
    })
  }

  #reopenSoon(): void {
    if (this.#reopening || this.#done) return
    this.#reopening = true
    queueMicrotask(() => {
      this.#reopening = false
      if (this.#done) return
      this.#connect().catch((error: Error) => {
        if (this.#done) return
        this.#done = true
        this.#sink.closed(error)
      })
    })
  }
}
