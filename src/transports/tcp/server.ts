import { createServer, type Server, type Socket } from 'node:net'
import type { Config } from '../../config.js'
import type { Broker } from '../../core/broker.js'
import type { SwitchboardError } from '../../protocol/errors.js'
import { msgpackCodec } from '../../protocol/frames.js'
import { FrameDecoder, lengthPrefix } from '../../protocol/length-prefixed.js'
import type { PushRegistry } from '../push-registry.js'
import { clientOf } from '../session/client-id.js'
import { Session, sessionLimits } from '../session/session.js'

const FRAME_OVERHEAD = 64 * 1024

export interface TcpListener {
  readonly server: Server
  readonly port: number
  close(): Promise<void>
}

/**
 * The raw TCP protocol: length-prefixed msgpack frames carrying the ops and fields of the msgpack
 * WebSocket subprotocol, one Session per connection.
 */
export async function startTcp(broker: Broker, config: Config, registry: PushRegistry): Promise<TcpListener> {
  const { limits } = config
  const sockets = new Set<Socket>()
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket)
    const close = (code: string, detail: string) => {
      if (socket.destroyed) return
      const frame = msgpackCodec.encode({ op: 'error', code, message: detail }) as Uint8Array
      socket.end(Buffer.concat([lengthPrefix(frame.byteLength), frame]))
      setTimeout(() => socket.destroy(), 1000).unref()
    }
    const session = new Session(
      broker,
      msgpackCodec,
      {
        send: (frame) => {
          const body = frame as Uint8Array
          socket.write(lengthPrefix(body.byteLength))
          socket.write(body)
        },
        get buffered() {
          return socket.writableLength
        },
        cork: () => socket.cork(),
        uncork: () => socket.uncork(),
        close: (reason, detail) =>
          close(reason === 'slow_consumer' ? 'slow_consumer' : 'invalid_frame', detail),
      },
      sessionLimits(limits),
      clientOf(undefined),
    )
    const decoder = new FrameDecoder(limits.payloadBytes + FRAME_OVERHEAD)
    const unregister = registry.add(
      { shutdown: () => close('shutting_down', 'server shutting down; reconnect and resume') },
      'tcp',
    )
    socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy())
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[]
      try {
        frames = decoder.push(chunk)
      } catch (error) {
        socket.pause()
        return close('payload_too_large', (error as SwitchboardError).message)
      }
      for (const frame of frames) session.receive(frame)
    })
    socket.on('drain', () => session.drained())
    socket.on('error', () => socket.destroy())
    socket.on('close', () => {
      sockets.delete(socket)
      unregister()
      session.close()
    })
  })
  server.maxConnections = limits.maxConnections
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.tcpPort, config.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.tcpPort
  return {
    server,
    port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
