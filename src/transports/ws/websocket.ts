import type { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import type { Duplex, Writable } from 'node:stream'
import { type WebSocket, WebSocketServer } from 'ws'
import type { Config } from '../../config.js'
import type { Broker } from '../../core/broker.js'
import { problemOf } from '../../protocol/errors.js'
import { jsonCodec, WS_SUBPROTOCOLS } from '../../protocol/frames.js'
import type { PushRegistry } from '../push-registry.js'
import { clientOf } from '../session/client-id.js'
import { type CloseReason, Session, sessionLimits } from '../session/session.js'

export const WS_PATH = '/v1/ws'

const CLOSE_CODES: Record<CloseReason, number> = {
  going_away: 1001,
  policy: 1008,
  too_big: 1009,
  server_error: 1011,
  slow_consumer: 1008,
}

/** How long a closing peer has to answer the server's close on shutdown. */
const CLOSE_GRACE_MS = 1000

/** Room for a frame's fields around the largest payload. */
const FRAME_OVERHEAD = 64 * 1024

/**
 * WebSocket on `/v1/ws` of the HTTP/1.1 server: subprotocols `switchboard.v1.json` (text) and
 * `switchboard.v1.msgpack` (binary), one Session per connection, protocol pings to find dead peers.
 */
export function attachWebSocket(
  server: EventEmitter,
  broker: Broker,
  config: Config,
  registry: PushRegistry,
): () => void {
  const { limits, push } = config
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.payloadBytes + FRAME_OVERHEAD,
    perMessageDeflate: push.compression ? { threshold: 1024, concurrencyLimit: 4 } : false,
    handleProtocols: (offered) => [...offered].find((p) => p in WS_SUBPROTOCOLS) ?? false,
  })
  const alive = new WeakSet<WebSocket>()

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== WS_PATH) return refuse(socket, 404, 'not_found', `no WebSocket endpoint at ${path}`)
    if (broker.draining) return refuse(socket, 503, 'shutting_down', 'the server is shutting down')
    let client: string
    try {
      client = clientOf(new URL(req.url ?? '/', 'http://x').searchParams.get('client'))
    } catch (error) {
      return refuse(socket, 400, 'invalid_parameter', (error as Error).message)
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, client))
  }
  server.on('upgrade', onUpgrade)

  const serve = (ws: WebSocket, client: string) => {
    const codec = WS_SUBPROTOCOLS[ws.protocol] ?? jsonCodec
    const socket = (ws as unknown as { _socket: Writable })._socket
    const session = new Session(
      broker,
      codec,
      {
        send: (frame) => ws.send(frame, { binary: typeof frame !== 'string' }),
        get buffered() {
          return ws.bufferedAmount
        },
        cork: () => socket.cork(),
        uncork: () => socket.uncork(),
        close: (reason, detail) => {
          ws.close(CLOSE_CODES[reason], detail.slice(0, 120))
          // A peer that reads nothing will not answer the close either.
          if (reason === 'slow_consumer') setTimeout(() => ws.terminate(), 1000).unref()
        },
      },
      sessionLimits(limits),
      client,
    )
    const unregister = registry.add(
      { shutdown: () => ws.close(1001, 'server shutting down; reconnect and resume') },
      'ws',
    )
    alive.add(ws)
    ws.on('pong', () => alive.add(ws))
    ws.on('message', (data, isBinary) =>
      session.receive(isBinary ? (data as Buffer) : (data as Buffer).toString('utf8')),
    )
    socket.on('drain', () => session.drained())
    ws.on('error', () => ws.terminate())
    ws.on('close', () => {
      unregister()
      session.close()
    })
  }

  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate()
        continue
      }
      alive.delete(ws)
      ws.ping()
    }
  }, push.pingIntervalMs)
  pinger.unref()

  return () => {
    clearInterval(pinger)
    server.off('upgrade', onUpgrade)
    // Each was sent its close (1001) by the registry; a peer that has not answered within the
    // grace is cut off, so that it cannot hold the server open.
    setTimeout(() => {
      for (const ws of wss.clients) ws.terminate()
    }, CLOSE_GRACE_MS).unref()
    wss.close()
  }
}

function refuse(
  socket: Duplex,
  status: number,
  code: 'not_found' | 'shutting_down' | 'invalid_parameter',
  detail: string,
): void {
  const body = JSON.stringify(problemOf(code, detail))
  socket.end(
    `HTTP/1.1 ${status} ${code}\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}
