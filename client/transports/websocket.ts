import { ConnectionError, errorFor } from '../errors.js'
import type { WireMessage } from '../message.js'
import type { Transport, TransportSink, WebSocketConstructor, WebSocketLike } from './transport.js'

const PING_EVERY_MS = 20_000
const PONG_WITHIN_MS = 10_000

/** A server frame: `msg` carries a message's fields; `ok`, `pong` and `error` echo a request's `id`. */
interface Frame {
  op: string
  id?: number | string
  offset?: number
  code?: string
  message?: string
}

/** Every channel over one WebSocket (`switchboard.v1.json`): sub/unsub/pub/ping ops, msg frames. */
export class WebSocketTransport implements Transport {
  readonly kind = 'websocket'
  readonly #url: string
  readonly #WebSocket: WebSocketConstructor
  readonly #sink: TransportSink
  #socket: WebSocketLike | undefined
  #nextId = 1
  readonly #pending = new Map<number, { resolve: (frame: Frame) => void; reject: (error: Error) => void }>()
  #pinger: ReturnType<typeof setInterval> | undefined
  #done = false

  constructor(baseUrl: string, WebSocket: WebSocketConstructor, sink: TransportSink, clientId?: string) {
    const query = clientId ? `?client=${encodeURIComponent(clientId)}` : ''
    this.#url = `${baseUrl.replace(/^http/, 'ws')}/v1/ws${query}`
    this.#WebSocket = WebSocket
    this.#sink = sink
  }

  open(channels: readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new this.#WebSocket(this.#url, 'switchboard.v1.json')
      this.#socket = socket
      let opened = false
      socket.onopen = () => {
        opened = true
        for (const channel of channels) this.subscribe(channel)
        this.#pinger = setInterval(() => this.#ping(), PING_EVERY_MS)
        resolve()
      }
      socket.onmessage = (event) => this.#receive(String(event.data))
      socket.onerror = () => {}
      socket.onclose = (event) => {
        const error = new ConnectionError(
          'connection_closed',
          `WebSocket closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`,
        )
        if (!opened) reject(error)
        else this.#lost(error)
      }
    })
  }

  subscribe(channel: string): void {
    const after = this.#sink.position(channel)
    this.#call({ op: 'sub', channel, after }).catch((error: Error) => this.#sink.refused(channel, error))
  }

  unsubscribe(channel: string): void {
    this.#call({ op: 'unsub', channel }).catch(() => {})
  }

  async publish(channel: string, data: unknown): Promise<{ offset: number }> {
    const frame = await this.#call({ op: 'pub', channel, data })
    return { offset: frame.offset ?? 0 }
  }

  close(): void {
    this.#done = true
    this.#stop(new ConnectionError('closed', 'the client closed the connection'))
    this.#socket?.close(1000, 'client closed')
  }

  #call(frame: Record<string, unknown>): Promise<Frame> {
    const socket = this.#socket
    if (socket?.readyState !== 1) return Promise.reject(new ConnectionError('not_connected', 'not connected'))
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      socket.send(JSON.stringify({ ...frame, id }))
    })
  }

  #receive(text: string): void {
    let parsed: Frame | Frame[]
    try {
      parsed = JSON.parse(text)
    } catch {
      return
    }
    for (const frame of Array.isArray(parsed) ? parsed : [parsed]) {
      if (frame.op === 'msg') {
        this.#sink.message(frame as unknown as WireMessage)
        continue
      }
      const pending = typeof frame.id === 'number' ? this.#pending.get(frame.id) : undefined
      if (!pending) continue
      this.#pending.delete(frame.id as number)
      if (frame.op === 'error') pending.reject(errorFor(frame.code ?? 'internal', frame.message ?? 'failed'))
      else pending.resolve(frame)
    }
  }

  /** Browsers cannot see protocol pings, so liveness is checked with the `ping` op. */
  #ping(): void {
    const timer = setTimeout(() => this.#socket?.close(4000, 'no pong'), PONG_WITHIN_MS)
    this.#call({ op: 'ping' }).then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    )
  }

  #lost(error: Error): void {
    this.#stop(error)
    if (!this.#done) this.#sink.closed(error)
    this.#done = true
  }

  #stop(error: Error): void {
    clearInterval(this.#pinger)
    for (const pending of this.#pending.values()) pending.reject(error)
    this.#pending.clear()
  }
}
