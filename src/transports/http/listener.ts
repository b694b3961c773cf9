import http from 'node:http'
import http2 from 'node:http2'
import type { Socket } from 'node:net'
import { problemOf } from '../../protocol/errors.js'

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void

export interface ListenerOptions {
  readonly maxHeaderBytes: number
  readonly headersTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly keepAliveTimeoutMs: number
  /** Closes a connection with no traffic for this long. */
  readonly idleTimeoutMs: number
  readonly maxConnections: number
  readonly maxConnectionsPerClient: number
  /** PEM certificate and key: the port then speaks TLS, HTTP/2 and HTTP/1.1 chosen by ALPN. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer }
}

/**
 * One port for HTTP/1.1 and cleartext HTTP/2 (h2c with prior knowledge): the first bytes of a
 * connection tell which. The HTTP/1.1 server owns the port, so its timeouts, upgrades (WebSocket)
 * and connection tracking work as usual; HTTP/2 connections are handed to a second server that
 * shares the same request handler.
 */
export class Listener {
  readonly http1: http.Server
  readonly http2: http2.Http2Server
  /** With TLS, the server that owns the port (HTTP/2 with HTTP/1.1 fallback); else undefined. */
  readonly secure: http2.Http2SecureServer | undefined
  readonly #sessions = new Set<http2.ServerHttp2Session>()
  readonly #perClient = new Map<string, number>()
  #open = 0
  readonly #options: ListenerOptions
  /** HTTP/1.1 responses not yet finished: told to close their connection when draining. */
  readonly #inFlight = new Set<http.ServerResponse>()
  /** Connections that have sent nothing yet, so neither server knows them. */
  readonly #silent = new Set<Socket>()
  #draining = false

  constructor(handler: RequestHandler, options: ListenerOptions) {
    this.#options = options
    this.http1 = http.createServer({
      maxHeaderSize: options.maxHeaderBytes,
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // How often the two timeouts above are checked (Node's default, 30 s, could double them).
      connectionsCheckingInterval: Math.min(1000, options.headersTimeoutMs, options.requestTimeoutMs),
    })
    this.http1.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (this.#draining) res.shouldKeepAlive = false
      else {
        this.#inFlight.add(res)
        res.once('close', () => this.#inFlight.delete(res))
      }
      handler(req, res)
    })
    this.http1.setTimeout(options.idleTimeoutMs)
    this.http1.maxConnections = options.maxConnections
    const settings = { maxHeaderListSize: options.maxHeaderBytes }
    this.http2 = this.#serveHttp2(http2.createServer({ maxSessionMemory: 32, settings }), handler)
    this.secure = options.tls
      ? this.#serveHttp2(
          http2.createSecureServer({
            cert: options.tls.cert,
            key: options.tls.key,
            allowHTTP1: true,
            maxSessionMemory: 32,
            settings,
          }),
          handler,
        )
      : undefined
    if (this.secure) {
      this.secure.setTimeout(options.idleTimeoutMs)
      this.secure.maxConnections = options.maxConnections
    }
    const [serveHttp1] = this.http1.listeners('connection') as ((socket: Socket) => void)[]
    this.http1.removeAllListeners('connection')
    this.http1.on('connection', (socket: Socket) => this.#accept(socket, serveHttp1))
    const secure = this.secure
    if (secure) {
      const serveTls = secure.listeners('connection') as ((socket: Socket) => void)[]
      secure.removeAllListeners('connection')
      secure.on('connection', (socket: Socket) => {
        if (this.#admit(socket, 'close')) for (const serve of serveTls) serve.call(secure, socket)
      })
    }
  }

  /** Connections open on the port now, refused ones until they are closed. */
  get connections(): number {
    return this.#open
  }

  /** The server that listens on the port. */
  get main(): http.Server | http2.Http2SecureServer {
    return this.secure ?? this.http1
  }

  /**
   * Starts a graceful stop: HTTP/2 sessions get GOAWAY, and HTTP/1.1 responses still to come close
   * their connection instead of keeping it alive, so no client is left on a closing server.
   */
  drain(): void {
    this.#draining = true
    for (const res of this.#inFlight) if (!res.headersSent) res.shouldKeepAlive = false
    this.#inFlight.clear()
    for (const session of this.#sessions) session.close()
    for (const socket of this.#silent) socket.destroy()
  }

  /** Routes an HTTP/2 server's requests to `handler` and tracks its sessions (idle timeout, drain). */
  #serveHttp2<S extends http2.Http2Server | http2.Http2SecureServer>(server: S, handler: RequestHandler): S {
    server.on(
      'request',
      handler as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
    )
    server.on('session', (session: http2.ServerHttp2Session) => {
      this.#sessions.add(session)
      session.setTimeout(this.#options.idleTimeoutMs, () => session.close())
      session.on('close', () => this.#sessions.delete(session))
    })
    return server
  }

  #accept(socket: Socket, serveHttp1: (socket: Socket) => void): void {
    let silent: NodeJS.Timeout | undefined
    const admitted = this.#admit(socket, 'answer', () => {
      clearTimeout(silent)
      this.#silent.delete(socket)
    })
    if (!admitted) return
    silent = setTimeout(() => socket.destroy(), this.#options.headersTimeoutMs)
    this.#silent.add(socket)
    socket.once('readable', () => {
      clearTimeout(silent)
      silent = undefined
      this.#silent.delete(socket)
      const head: Buffer | null = socket.read(4) ?? socket.read()
      if (head === null) return void socket.destroy()
      socket.unshift(head)
      if (head.toString('latin1', 0, 4) === 'PRI ') this.http2.emit('connection', socket)
      else serveHttp1.call(this.http1, socket)
    })
  }

  /**
   * Counts a new connection, and against its client address's limit, until it closes (`closed`
   * runs then too: one listener for all of a connection's bookkeeping, since an idle one keeps each).
   * Over the limit, or while draining, the connection is refused: answered 429 in plain HTTP, or
   * closed (a TLS connection has not said anything a server could answer yet).
   */
  #admit(socket: Socket, over: 'answer' | 'close', closed: () => void = () => undefined): boolean {
    const client = socket.remoteAddress ?? ''
    const count = (this.#perClient.get(client) ?? 0) + 1
    this.#perClient.set(client, count)
    this.#open += 1
    // Before anything is written: a refused client that goes on sending resets the socket.
    socket.on('error', () => socket.destroy())
    socket.on('close', () => {
      closed()
      this.#open -= 1
      const left = (this.#perClient.get(client) ?? 1) - 1
      if (left <= 0) this.#perClient.delete(client)
      else this.#perClient.set(client, left)
    })
    if (count > this.#options.maxConnectionsPerClient) {
      if (over === 'close') socket.destroy()
      else refuse(socket, tooManyConnections(this.#options.maxConnectionsPerClient))
      return false
    }
    if (this.#draining) {
      socket.destroy()
      return false
    }
    return true
  }
}

/**
 * Answers a connection no server will read, and closes it: what the client sends is read and
 * dropped (unread input would turn the close into a reset that can lose the answer, and a paused
 * socket never sees the client's end), and a client that never closes is cut off after a second.
 */
function refuse(socket: Socket, answer: string): void {
  socket.resume()
  socket.end(answer)
  socket.setTimeout(1000, () => socket.destroy())
}

function tooManyConnections(limit: number): string {
  const body = JSON.stringify(
    problemOf('rate_limited', `too many connections from this client (limit ${limit})`),
  )
  return (
    'HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/problem+json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  )
}
