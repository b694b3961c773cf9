import { Packr } from 'msgpackr'
import WebSocket from 'ws'

const packr = new Packr({ useRecords: false, mapsAsObjects: true })

export type Frame = Record<string, unknown> & { op: string }

/** A raw `ws` client of /v1/ws that records every frame and answers requests by id. */
export class WsClient {
  readonly socket: WebSocket
  readonly frames: Frame[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  readonly #binary: boolean
  #nextId = 1
  #waiters: (() => void)[] = []

  private constructor(socket: WebSocket, binary: boolean) {
    this.socket = socket
    this.#binary = binary
    socket.on('message', (data: Buffer, isBinary) => {
      const frame = (isBinary ? packr.unpack(data) : JSON.parse(data.toString('utf8'))) as Frame
      this.frames.push(frame)
      for (const wake of this.#waiters.splice(0)) wake()
    })
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() })
        for (const wake of this.#waiters.splice(0)) wake()
      }),
    )
  }

  static open(baseUrl: string, protocol = 'switchboard.v1.json', query = ''): Promise<WsClient> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/ws${query}`, protocol)
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new WsClient(socket, protocol.endsWith('msgpack'))))
      socket.once('error', reject)
    })
  }

  send(frame: Record<string, unknown>): number {
    const id = this.#nextId++
    const full = { ...frame, id }
    this.socket.send(this.#binary ? packr.pack(full) : JSON.stringify(full))
    return id
  }

  /** Sends a request and resolves with the frame answering it (ok, pong or error). */
  async request(frame: Record<string, unknown>, timeoutMs = 5000): Promise<Frame> {
    const id = this.send(frame)
    return this.until((frames) => frames.find((f) => f.id === id && f.op !== 'msg'), timeoutMs)
  }

  /** Resolves once `pick` finds something in the frames received so far. */
  async until<T>(pick: (frames: Frame[]) => T | undefined, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = pick(this.frames)
      if (found !== undefined) return found
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(`no such frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-3))}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  messages(channel: string): Frame[] {
    return this.frames.filter((f) => f.op === 'msg' && f.channel === channel)
  }

  close(): void {
    this.socket.terminate()
  }
}
