import { createHmac, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Delivery {
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
  readonly channel: string
  readonly offset: number
  readonly id: string
  /** The status this receiver answered, or 0 while held. */
  status: number
}

/** What to answer a request: a status, or a promise of one (a held request). */
export type Responder = (delivery: Delivery, index: number) => number | Promise<number>

/** A webhook receiver on 127.0.0.1: records every request, answers as `respond` says. */
export class Receiver {
  readonly requests: Delivery[] = []
  respond: Responder = () => 204
  #server: http.Server | undefined
  #port = 0

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hook?from=switchboard`
  }

  get port(): number {
    return this.#port
  }

  /** Listens on `port` (0: any free one; the same port again after `stop`). */
  async start(port = this.#port): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8')
        const delivery: Delivery = {
          headers: req.headers,
          body,
          channel: String(req.headers['switchboard-channel']),
          offset: Number(req.headers['switchboard-offset']),
          id: String(req.headers['switchboard-message-id']),
          status: 0,
        }
        this.requests.push(delivery)
        const status = await this.respond(delivery, this.requests.length - 1)
        delivery.status = status
        if (!res.destroyed) res.writeHead(status).end()
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    this.#server = server
    this.#port = (server.address() as AddressInfo).port
    return this
  }

  /** Closes the port and every open connection: the endpoint is down. */
  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (!server) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** Offsets acknowledged with a 2xx for `channel`, in arrival order. */
  delivered(channel: string): number[] {
    return this.requests
      .filter((d) => d.channel === channel && d.status >= 200 && d.status < 300)
      .map((d) => d.offset)
  }
}

/** Checks `Switchboard-Signature` as a receiver would: HMAC-SHA256 of `<t>.<body>`, time close to now. */
export function verifySignature(delivery: Delivery, secret: string, toleranceMs = 5 * 60_000): boolean {
  const header = String(delivery.headers['switchboard-signature'] ?? '')
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=', 2) as [string, string]))
  const time = Number(parts.t)
  if (!Number.isFinite(time) || Math.abs(Date.now() - time) > toleranceMs || !parts.v1) return false
  const expected = createHmac('sha256', secret).update(`${parts.t}.${delivery.body}`).digest()
  const given = Buffer.from(parts.v1, 'hex')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}
