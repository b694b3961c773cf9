/**
 * Idle connections: the server's RSS per idle connection at N connections (default 10,000), each
 * subscribed to a channel, for Switchboard over WebSocket and over SSE, beside a minimal `ws`
 * server and Socket.IO (clients in a room). Each server runs in its own process; RSS is read from
 * /proc/<pid>/status before and after the connections open.
 */
import { readFileSync } from 'node:fs'
import { Agent, type ClientRequest, request } from 'node:http'
import { createRequire } from 'node:module'
import { io as ioClient, type Socket } from 'socket.io-client'
import WebSocket from 'ws'
import { tempDir } from '../test/helpers/tmp.js'
import { peerProcess } from './lib/peer.js'
import { emit } from './lib/report.js'
import { benchServer } from './lib/server.js'

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10_000)
const BATCH = 250
const TIMEOUT_MS = 120_000
const require = createRequire(import.meta.url)

const rssOf = (pid: number) =>
  1024 * Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])

/** Opens `count` connections, BATCH at a time; `open(k)` resolves once connection k is subscribed. */
async function openAll(count: number, open: (k: number) => Promise<void>): Promise<void> {
  for (let k = 0; k < count; k += BATCH)
    await Promise.all(Array.from({ length: Math.min(BATCH, count - k) }, (_, j) => open(k + j)))
}

interface Server {
  readonly pid: number
  /** Opens and subscribes `count` idle connections; answers a function that closes them. */
  connect(count: number): Promise<() => void>
  stop(): Promise<void>
}

async function switchboard(transport: 'ws' | 'sse'): Promise<Server> {
  const dir = tempDir('switchboard-bench-')
  const server = await benchServer([
    '--data-dir',
    dir.path,
    '--log-level',
    'error',
    '--max-connections-per-client',
    String(CONNECTIONS * 2),
  ])
  return {
    pid: server.child.pid as number,
    async connect(count) {
      const closers: (() => void)[] = []
      const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })
      await openAll(count, (k) =>
        transport === 'ws'
          ? new Promise((resolve, reject) => {
              const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`, 'switchboard.v1.json')
              closers.push(() => ws.terminate())
              ws.once('open', () => ws.send(JSON.stringify({ op: 'sub', id: 1, channel: `idle:${k % 100}` })))
              ws.once('message', () => resolve())
              ws.once('error', reject)
            })
          : new Promise((resolve, reject) => {
              const req: ClientRequest = request(
                `${server.url}/v1/events?channel=idle:${k % 100}`,
                { agent },
                (res) => {
                  res.resume()
                  resolve()
                },
              )
              req.once('error', reject).end()
              closers.push(() => req.destroy())
            }),
      )
      return () => {
        for (const close of closers) close()
      }
    },
    async stop() {
      server.child.kill('SIGTERM')
      await server.exited
      dir.remove()
    },
  }
}

async function bareWs(): Promise<Server> {
  const { port, child } = await peerProcess(
    `const { WebSocketServer } = require(${JSON.stringify(require.resolve('ws'))})
new WebSocketServer({ port: Number(process.argv[1]), host: '127.0.0.1' }).on('connection', (ws) => ws.send('ok'))`,
    (p) =>
      new Promise((resolve) => {
        const probe = new WebSocket(`ws://127.0.0.1:${p}`)
        probe.once('message', () => {
          probe.terminate()
          resolve(true)
        })
        probe.once('error', () => resolve(false))
      }),
  )
  return {
    pid: child.pid as number,
    async connect(count) {
      const sockets: WebSocket[] = []
      await openAll(
        count,
        () =>
          new Promise((resolve, reject) => {
            const ws = new WebSocket(`ws://127.0.0.1:${port}`)
            sockets.push(ws)
            ws.once('message', () => resolve())
            ws.once('error', reject)
          }),
      )
      return () => {
        for (const ws of sockets) ws.terminate()
      }
    },
    async stop() {
      child.kill('SIGTERM')
    },
  }
}

async function socketIo(): Promise<Server> {
  const { port, child } = await peerProcess(
    `const { Server } = require(${JSON.stringify(require.resolve('socket.io'))})
const io = new Server(Number(process.argv[1]), { transports: ['websocket'] })
io.on('connection', (socket) => { socket.join('idle:' + (socket.handshake.query.k % 100)); socket.emit('joined') })`,
    (p) =>
      fetch(`http://127.0.0.1:${p}/socket.io/?EIO=4&transport=polling`).then(
        () => true,
        () => false,
      ),
  )
  return {
    pid: child.pid as number,
    async connect(count) {
      const sockets: Socket[] = []
      await openAll(
        count,
        (k) =>
          new Promise((resolve) => {
            const socket = ioClient(`http://127.0.0.1:${port}`, {
              transports: ['websocket'],
              query: { k },
              forceNew: true,
              reconnection: false,
            })
            sockets.push(socket)
            socket.once('joined', () => resolve())
          }),
      )
      return () => {
        for (const socket of sockets) socket.disconnect()
      }
    },
    async stop() {
      child.kill('SIGTERM')
    },
  }
}

/** RSS per connection: the growth from opening CONNECTIONS, divided by their number. */
async function perConnection(
  start: () => Promise<Server>,
): Promise<{ bytes: number; before: number; after: number }> {
  const server = await start()
  try {
    const warm = await server.connect(100) // code paths loaded and warm before the baseline
    warm()
    const before = rssOf(server.pid)
    const close = await Promise.race([
      server.connect(CONNECTIONS),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('connections took too long')), TIMEOUT_MS),
      ),
    ])
    const after = rssOf(server.pid)
    close()
    return { bytes: (after - before) / CONNECTIONS, before, after }
  } finally {
    await server.stop()
  }
}

const MB = 2 ** 20
const peers: [string, () => Promise<Server>][] = [
  ['minimal ws server', bareWs],
  ['Socket.IO', socketIo],
]
const peerFigures = new Map<string, number>()
for (const [name, start] of peers) {
  const figure = await perConnection(start)
  peerFigures.set(name, figure.bytes)
  emit({
    bench: 'idle',
    name: `${name}: server RSS per idle connection at ${CONNECTIONS}`,
    value: figure.bytes,
    unit: 'bytes',
    better: 'lower',
    details: { rss_before_mb: Math.round(figure.before / MB), rss_after_mb: Math.round(figure.after / MB) },
  })
}
for (const transport of ['ws', 'sse'] as const) {
  const figure = await perConnection(() => switchboard(transport))
  for (const [peer, peerBytes] of peerFigures)
    emit({
      bench: 'idle',
      name: `Switchboard ${transport === 'ws' ? 'WebSocket' : 'SSE'}: server RSS per idle subscribed connection at ${CONNECTIONS}`,
      value: figure.bytes,
      unit: 'bytes',
      better: 'lower',
      peer,
      peerValue: peerBytes,
      details: { rss_before_mb: Math.round(figure.before / MB), rss_after_mb: Math.round(figure.after / MB) },
    })
}
