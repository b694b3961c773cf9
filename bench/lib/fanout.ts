/**
 * Fan-out measurement shared by bench/fanout.ts and bench/redis-fanout.ts: one publisher, N
 * subscribers of one channel; a burst timed until every subscriber has every message
 * (deliveries/s), then a fixed publish rate measuring publish→receive latency (p50, p99) from a
 * timestamp in each message. Each system under test is a `System`.
 */
import { request } from 'node:http'
import { createRequire } from 'node:module'
import { Redis } from 'ioredis'
import { connect as natsConnect } from 'nats'
import { io as ioClient } from 'socket.io-client'
import { Pool } from 'undici'
import WebSocket from 'ws'
import { tempDir } from '../../test/helpers/tmp.js'
import { waitUntil } from '../../test/helpers/wait.js'
import { peerProcess } from './peer.js'
import { percentile } from './report.js'
import { benchServer } from './server.js'

export const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000)
export const BURST = Number(process.env.BENCH_MESSAGES ?? 200)
const IN_FLIGHT = 16
export const RATE = Number(process.env.BENCH_RATE ?? 20)
export const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 5)
const TIMEOUT_MS = 60_000
const TEXT = 'x'.repeat(60)
const require = createRequire(import.meta.url)

/** A message: its index and the publisher's clock when sent (same process as the subscribers). */
const message = (i: number) => JSON.stringify({ i, t: performance.now(), text: TEXT })

export interface System {
  readonly name: string
  /** Opens `n` subscribers; each calls `onMessage` with the raw JSON message it got. */
  subscribe(n: number, onMessage: (json: string) => void): Promise<void>
  publish(json: string): Promise<void>
  close(): Promise<void>
}

export interface Figures {
  readonly deliveriesPerSecond: number
  readonly p50: number
  readonly p99: number
}

export async function measure(system: System): Promise<Figures> {
  let received = 0
  let latencies: number[] | undefined
  await system.subscribe(SUBSCRIBERS, (json) => {
    received += 1
    if (latencies) latencies.push(performance.now() - (JSON.parse(json) as { t: number }).t)
  })
  // Every subscriber sees a warm-up message, so all are live before the clock starts.
  await system.publish(message(-1))
  await waitUntil(() => received >= SUBSCRIBERS, { timeoutMs: TIMEOUT_MS, what: `${system.name} warm-up` })

  received = 0
  const started = performance.now()
  // Up to IN_FLIGHT publishes at once, so that a system whose publish answers after storing is not
  // timed on its round trip alone.
  let next = 0
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < BURST) await system.publish(message(next++))
    }),
  )
  await waitUntil(() => received >= BURST * SUBSCRIBERS, {
    timeoutMs: TIMEOUT_MS,
    everyMs: 2,
    what: `${system.name} burst`,
  })
  const seconds = (performance.now() - started) / 1000

  received = 0
  latencies = []
  const total = RATE * RATE_SECONDS
  const paced = performance.now()
  for (let i = 0; i < total; i++) {
    const due = paced + (i * 1000) / RATE
    const wait = due - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    void system.publish(message(i))
  }
  await waitUntil(() => received >= total * SUBSCRIBERS, {
    timeoutMs: TIMEOUT_MS,
    what: `${system.name} paced`,
  })
  await system.close()
  return {
    deliveriesPerSecond: (BURST * SUBSCRIBERS) / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  }
}

const wsOpens = (url: string) =>
  new Promise<boolean>((resolve) => {
    const probe = new WebSocket(url)
    probe.on('open', () => {
      probe.terminate()
      resolve(true)
    })
    probe.on('error', () => resolve(false))
  })

function openSockets(url: string, n: number, protocol?: string): Promise<WebSocket[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, protocol)
          ws.once('open', () => resolve(ws))
          ws.once('error', reject)
        }),
    ),
  )
}

/** Running Switchboard nodes: subscribers are spread over `urls`, publishes go to the first. */
export interface Nodes {
  readonly urls: readonly string[]
  stop(): Promise<void>
}

/** One Switchboard node on a fresh SQLite file (fsync=os). */
export async function sqliteNode(): Promise<Nodes> {
  const dir = tempDir('switchboard-bench-')
  const server = await benchServer(['--data-dir', dir.path, '--fsync', 'os', '--log-level', 'error'])
  return {
    urls: [server.url],
    async stop() {
      server.child.kill('SIGTERM')
      await server.exited
      dir.remove()
    },
  }
}

export async function switchboard(transport: 'ws' | 'sse', nodes?: Nodes): Promise<System> {
  const running = nodes ?? (await sqliteNode())
  const { urls } = running
  const pool = new Pool(urls[0], { connections: 8 })
  const closers: (() => void)[] = []
  return {
    name: `Switchboard ${transport === 'ws' ? 'WebSocket' : 'SSE'}`,
    async subscribe(n, onMessage) {
      let subscribed = 0
      for (let k = 0; k < n; k++) {
        const url = urls[k % urls.length]
        if (transport === 'ws') {
          const [ws] = await openSockets(`${url.replace('http', 'ws')}/v1/ws`, 1, 'switchboard.v1.json')
          closers.push(() => ws.terminate())
          ws.on('message', (data: Buffer) => {
            const text = data.toString('utf8')
            if (text.startsWith('{"op":"ok"')) subscribed += 1
            // The message's data is the last field of the frame: cut it out without a second parse.
            else onMessage(text.slice(text.indexOf('"data":') + 7, -1))
          })
          ws.send(JSON.stringify({ op: 'sub', id: 1, channel: 'fan' }))
        } else {
          const req = request(`${url}/v1/events?channel=fan`, (res) => {
            subscribed += 1
            let rest = ''
            res.setEncoding('utf8').on('data', (chunk: string) => {
              const events = (rest + chunk).split('\n\n')
              rest = events.pop() as string
              for (const event of events) {
                const line = event.split('\n').find((l) => l.startsWith('data: '))
                if (line) onMessage(line.slice(line.indexOf('"data":') + 7, -1))
              }
            })
          })
          req.end()
          closers.push(() => req.destroy())
        }
      }
      await waitUntil(() => subscribed >= n, { timeoutMs: TIMEOUT_MS, what: 'subscriptions' })
    },
    async publish(json) {
      const res = await pool.request({
        path: '/v1/channels/fan/messages',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: json,
      })
      await res.body.dump()
    },
    async close() {
      for (const close of closers) close()
      await pool.close()
      await running.stop()
    },
  }
}

export async function bareWs(): Promise<System> {
  const peer = await peerProcess(
    `const { WebSocketServer } = require(${JSON.stringify(require.resolve('ws'))})
const wss = new WebSocketServer({ port: Number(process.argv[1]), host: '127.0.0.1' })
wss.on('connection', (ws, req) => {
  if (req.url === '/pub') ws.on('message', (data) => { for (const c of wss.clients) if (c !== ws) c.send(data, { binary: false }) })
})`,
    (port) => wsOpens(`ws://127.0.0.1:${port}/probe`),
  )
  const base = `ws://127.0.0.1:${peer.port}`
  let sockets: WebSocket[] = []
  const [publisher] = await openSockets(`${base}/pub`, 1)
  return {
    name: 'bare ws broadcast (no log)',
    async subscribe(n, onMessage) {
      sockets = await openSockets(`${base}/sub`, n)
      for (const ws of sockets) ws.on('message', (data: Buffer) => onMessage(data.toString('utf8')))
    },
    async publish(json) {
      publisher.send(json)
    },
    async close() {
      for (const ws of [...sockets, publisher]) ws.terminate()
      peer.stop()
    },
  }
}

export async function socketIo(): Promise<System> {
  const peer = await peerProcess(
    `const { Server } = require(${JSON.stringify(require.resolve('socket.io'))})
const io = new Server(Number(process.argv[1]), { transports: ['websocket'] })
io.on('connection', (socket) => {
  if (socket.handshake.query.role === 'pub') socket.on('pub', (m) => io.to('fan').emit('m', m))
  else socket.join('fan')
})`,
    async (port) =>
      fetch(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`).then(
        () => true,
        () => false,
      ),
  )
  const url = `http://127.0.0.1:${peer.port}`
  const open = (role: string) =>
    new Promise<ReturnType<typeof ioClient>>((resolve) => {
      const socket = ioClient(url, { transports: ['websocket'], query: { role }, forceNew: true })
      socket.once('connect', () => resolve(socket))
    })
  const publisher = await open('pub')
  let sockets: ReturnType<typeof ioClient>[] = []
  return {
    name: 'Socket.IO rooms',
    async subscribe(n, onMessage) {
      sockets = await Promise.all(Array.from({ length: n }, () => open('sub')))
      for (const socket of sockets) socket.on('m', (json: string) => onMessage(json))
    },
    async publish(json) {
      publisher.emit('pub', json)
    },
    async close() {
      for (const socket of [...sockets, publisher]) socket.disconnect()
      peer.stop()
    },
  }
}

export async function nats(): Promise<System> {
  const subject = `bench.fanout.${process.pid}`
  const publisher = await natsConnect({ servers: '127.0.0.1:4222' })
  const connections: Awaited<ReturnType<typeof natsConnect>>[] = []
  const decoder = new TextDecoder()
  const encoder = new TextEncoder()
  return {
    name: 'NATS subjects',
    async subscribe(n, onMessage) {
      for (let k = 0; k < n; k++) {
        const nc = await natsConnect({ servers: '127.0.0.1:4222' })
        connections.push(nc)
        nc.subscribe(subject, { callback: (_error, m) => onMessage(decoder.decode(m.data)) })
        await nc.flush()
      }
    },
    async publish(json) {
      publisher.publish(subject, encoder.encode(json))
    },
    async close() {
      await Promise.all([...connections, publisher].map((nc) => nc.close()))
    },
  }
}

export async function redisPubSub(): Promise<System> {
  const topic = `bench:fanout:${process.pid}`
  const publisher = new Redis('redis://127.0.0.1:6379')
  let subscribers: Redis[] = []
  return {
    name: 'Redis pub/sub',
    async subscribe(n, onMessage) {
      subscribers = Array.from({ length: n }, () => new Redis('redis://127.0.0.1:6379'))
      await Promise.all(subscribers.map((r) => r.subscribe(topic)))
      for (const r of subscribers) r.on('message', (_t: string, json: string) => onMessage(json))
    },
    async publish(json) {
      await publisher.publish(topic, json)
    },
    async close() {
      for (const r of [...subscribers, publisher]) r.disconnect()
    },
  }
}
