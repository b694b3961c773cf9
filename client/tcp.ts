/**
 * A small Node client of the raw TCP protocol: length-prefixed msgpack frames with the ops of the
 * WebSocket section of API.md (sub, unsub, pub, ping, presence).
 */
import { connect as netConnect, type Socket } from 'node:net'
import { Packr } from 'msgpackr'
import { FrameDecoder, lengthPrefix } from '../src/protocol/length-prefixed.js'
import { ConnectionError, errorFor } from './errors.js'
import { type ChannelMessage, fromWire, type WireMessage } from './message.js'

const packr = new Packr({ useRecords: false, mapsAsObjects: true })

type Frame = Record<string, unknown> & { op: string; id?: number }

export class TcpClient {
  readonly #socket: Socket
  readonly #decoder = new FrameDecoder(64 * 1024 * 1024)
  readonly #pending = new Map<number, { resolve: (f: Frame) => void; reject: (e: Error) => void }>()
  readonly #handlers = new Map<string, (message: ChannelMessage) => void>()
  #nextId = 1
  /** Frames the server sent without an id: errors about the connection, such as slow_consumer. */
  readonly notices: Frame[] = []
  readonly closed: Promise<void>

  private constructor(socket: Socket) {
    this.#socket = socket
    socket.on('data', (chunk: Buffer) => {
      for (const body of this.#decoder.push(chunk)) this.#receive(packr.unpack(body) as Frame)
    })
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        for (const p of this.#pending.values()) p.reject(new ConnectionError('closed', 'connection closed'))
        this.#pending.clear()
        resolve()
      }),
    )
    socket.on('error', () => {})
  }

  static connect(port: number, host = '127.0.0.1'): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ port, host, noDelay: true })
      socket.once('connect', () => resolve(new TcpClient(socket)))
      socket.once('error', (error) => reject(new ConnectionError('connection_failed', error.message)))
    })
  }

  /** Every message of `channel` after `after` (or from now on), then live ones. */
  async subscribe(
    channel: string,
    handler: (message: ChannelMessage) => void,
    after?: number,
  ): Promise<void> {
    this.#handlers.set(channel, handler)
    await this.request({ op: 'sub', channel, ...(after === undefined ? {} : { after }) })
  }

  async unsubscribe(channel: string): Promise<void> {
    this.#handlers.delete(channel)
    await this.request({ op: 'unsub', channel })
  }

  /** JSON values as JSON; `Uint8Array` as bytes with `contentType`. */
  async publish(channel: string, data: unknown, contentType?: string): Promise<number> {
    const frame = await this.request({
      op: 'pub',
      channel,
      data,
      ...(contentType ? { content_type: contentType } : {}),
    })
    return frame.offset as number
  }

  async ping(): Promise<void> {
    await this.request({ op: 'ping' })
  }

  /** Sends a frame and resolves with the answer; an error frame rejects with its typed error. */
  request(frame: Record<string, unknown>): Promise<Frame> {
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.send({ ...frame, id })
    })
  }

  /** Writes one frame as it is, for any op. */
  send(frame: Record<string, unknown>): void {
    const body = packr.pack(frame)
    this.#socket.write(Buffer.concat([lengthPrefix(body.length), body]))
  }

  close(): void {
    this.#socket.destroy()
  }

  #receive(frame: Frame): void {
    if (frame.op === 'msg') {
      this.#handlers.get(frame.channel as string)?.(fromWire(frame as unknown as WireMessage))
      return
    }
    const pending = typeof frame.id === 'number' ? this.#pending.get(frame.id) : undefined
    if (!pending) {
      this.notices.push(frame)
      return
    }
    this.#pending.delete(frame.id as number)
    if (frame.op === 'error') pending.reject(errorFor(String(frame.code), String(frame.message)))
    else pending.resolve(frame)
  }
}
