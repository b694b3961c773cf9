/**
 * Fan-out: messages/s delivered to N WebSocket subscribers of one channel, beside a bare `ws`
 * broadcast server (no log, no offsets, no flow control) in its own process, same N and messages.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import WebSocket from 'ws'
import { freePort, spawnServer } from '../test/helpers/process.js'
import { tempDir } from '../test/helpers/tmp.js'
import { waitUntil } from '../test/helpers/wait.js'
import { emit } from './lib/report.js'

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000)
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200)
const PAYLOAD = { user: 'u-123', event: 'login', text: 'x'.repeat(60) }
const TIMEOUT_MS = 60_000

const PEER = `
const { WebSocketServer } = require(${JSON.stringify(createRequire(import.meta.url).resolve('ws'))})
const wss = new WebSocketServer({ port: Number(process.argv[1]), host: '127.0.0.1' })
wss.on('connection', (ws, req) => {
  if (req.url === '/pub') ws.on('message', (data) => { for (const c of wss.clients) if (c !== ws) c.send(data, { binary: false }) })
})
`

/** Opens `n` sockets, counts every message they get, resolves when all have `expected`. */
async function subscribers(url: string, n: number, onOpen: (ws: WebSocket) => void) {
  let received = 0
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, 'switchboard.v1.json')
          ws.on('open', () => {
            onOpen(ws)
            resolve(ws)
          })
          ws.on('message', () => {
            received += 1
          })
          ws.on('error', reject)
        }),
    ),
  )
  return { sockets, received: () => received }
}

async function timeDelivery(
  publishAll: () => Promise<void>,
  received: () => number,
  expected: number,
): Promise<number> {
  const start = performance.now()
  await publishAll()
  await waitUntil(() => received() >= expected, { timeoutMs: TIMEOUT_MS, everyMs: 2, what: 'every delivery' })
  return performance.now() - start
}

async function ours(): Promise<number> {
  const dir = tempDir('switchboard-bench-')
  const server = await spawnServer(['--data-dir', dir.path, '--fsync', 'os', '--log-level', 'error'])
  try {
    const { sockets, received } = await subscribers(
      `${server.url.replace('http', 'ws')}/v1/ws`,
      SUBSCRIBERS,
      (ws) => ws.send(JSON.stringify({ op: 'sub', id: 1, channel: 'fan' })),
    )
    // Every sub is answered with an ok: wait for them, then count only messages.
    await waitUntil(() => received() >= SUBSCRIBERS, { timeoutMs: TIMEOUT_MS, what: 'subscriptions' })
    const base = received()
    const ms = await timeDelivery(
      async () => {
        for (let i = 0; i < MESSAGES; i++)
          await fetch(`${server.url}/v1/channels/fan/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ...PAYLOAD, i }),
          })
      },
      () => received() - base,
      SUBSCRIBERS * MESSAGES,
    )
    for (const ws of sockets) ws.terminate()
    return ms
  } finally {
    server.child.kill('SIGTERM')
    await server.exited
    dir.remove()
  }
}

async function peer(): Promise<number> {
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, ['-e', PEER, String(port)], { stdio: 'ignore' })
  try {
    const base = `ws://127.0.0.1:${port}`
    await waitUntil(
      () =>
        new Promise<boolean>((resolve) => {
          const probe = new WebSocket(`${base}/probe`)
          probe.on('open', () => {
            probe.terminate()
            resolve(true)
          })
          probe.on('error', () => resolve(false))
        }),
      { timeoutMs: 10_000 },
    )
    const { sockets, received } = await subscribers(`${base}/sub`, SUBSCRIBERS, () => {})
    const publisher = new WebSocket(`${base}/pub`)
    await new Promise((resolve) => publisher.on('open', resolve))
    const ms = await timeDelivery(
      async () => {
        for (let i = 0; i < MESSAGES; i++) publisher.send(JSON.stringify({ ...PAYLOAD, i }))
      },
      received,
      SUBSCRIBERS * MESSAGES,
    )
    publisher.terminate()
    for (const ws of sockets) ws.terminate()
    return ms
  } finally {
    child.kill('SIGTERM')
  }
}

const peerMs = await peer()
const ourMs = await ours()
const deliveries = SUBSCRIBERS * MESSAGES
emit({
  bench: 'fanout',
  name: `WebSocket fan-out, ${SUBSCRIBERS} subscribers of one channel, ${MESSAGES} messages`,
  value: deliveries / (ourMs / 1000),
  unit: 'deliveries/s',
  better: 'higher',
  peer: 'bare ws broadcast (no log)',
  peerValue: deliveries / (peerMs / 1000),
  details: { ours_ms: Math.round(ourMs), peer_ms: Math.round(peerMs), durable: true },
})
