/**
 * Webhook delivery throughput: messages/s a Switchboard server POSTs to a local receiver, strictly in
 * order per channel (1 channel, then 16 in parallel), beside a bare undici loop in its own process
 * that POSTs the same bodies to the same receiver with the same concurrency, one request after the
 * other per client, and no storage, signing or cursors (the ceiling).
 */
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { postJson } from '../test/helpers/http.js'
import { tempDir } from '../test/helpers/tmp.js'
import { waitUntil } from '../test/helpers/wait.js'
import { emit } from './lib/report.js'
import { benchServer } from './lib/server.js'

const MESSAGES = Number(process.env.BENCH_WEBHOOK_MESSAGES ?? 4000)
const BATCH = 500
const PAYLOAD = { user: 'u-123', event: 'login', at: 1700000000000, pad: 'x'.repeat(40) }

/** Counts POSTs and the time of the last one. */
async function receiver(): Promise<{
  url: string
  count: () => number
  last: () => number
  close: () => void
}> {
  let count = 0
  let last = 0
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      count += 1
      last = performance.now()
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hook`,
    count: () => count,
    last: () => last,
    close: () => {
      server.closeAllConnections()
      server.close()
    },
  }
}

/** The peer: `concurrency` sequential POST loops over one undici Pool, in a child process; prints msg/s. */
const PEER = `
const { Pool } = require('undici')
const [url, concurrency, total, body] = process.argv.slice(1)
const pool = new Pool(new URL(url).origin, { connections: Number(concurrency) })
let sent = 0
const loop = async () => {
  while (sent < Number(total)) {
    sent += 1
    const res = await pool.request({ path: new URL(url).pathname, method: 'POST', body, headers: { 'content-type': 'application/json' } })
    await res.body.dump()
  }
}
const started = performance.now()
Promise.all(Array.from({ length: Number(concurrency) }, loop)).then(() => {
  console.log(Number(total) / ((performance.now() - started) / 1000))
  return pool.close()
})
`

function peerRate(url: string, concurrency: number, body: string): Promise<number> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['-e', PEER, url, String(concurrency), String(MESSAGES), body],
      { timeout: 60_000 },
      (error, stdout) => (error ? reject(error) : resolve(Number(stdout.trim()))),
    ),
  )
}

async function main(): Promise<void> {
  const sink = await receiver()
  for (const channels of [1, 16]) {
    const body = JSON.stringify({
      channel: 'wh:0',
      offset: 1,
      id: crypto.randomUUID(),
      time: 0,
      headers: {},
      data: PAYLOAD,
    })
    const peer = await peerRate(sink.url, channels, body)

    const dir = tempDir('switchboard-bench-')
    const file = `${dir.path}/config.json`
    const secret = 'bench-secret-0123456789'
    writeFileSync(
      file,
      JSON.stringify({ namespaces: [{ pattern: 'wh:*', webhook: { url: sink.url, secret } }] }),
    )
    const server = await benchServer(['--data-dir', dir.path, '--config', file, '--log-level', 'error'])
    try {
      const before = sink.count()
      const started = performance.now()
      for (let sent = 0; sent < MESSAGES; sent += BATCH) {
        const messages = Array.from({ length: BATCH }, (_, i) => ({
          channel: `wh:${(sent + i) % channels}`,
          data: PAYLOAD,
        }))
        const answer = await postJson(`${server.url}/v1/publish`, { messages })
        if (answer.status !== 201) throw new Error(`publish answered ${answer.status}`)
      }
      await waitUntil(() => sink.count() - before >= MESSAGES, { timeoutMs: 60_000, everyMs: 20 })
      const seconds = (sink.last() - started) / 1000
      emit({
        bench: 'webhooks',
        name: `webhook deliveries/s, ${channels === 1 ? '1 channel' : `${channels} channels in parallel`}, in order per channel (fsync=always)`,
        value: MESSAGES / seconds,
        unit: 'msg/s',
        better: 'higher',
        peer: `bare undici POST loop (own process), concurrency ${channels}`,
        peerValue: peer,
        details: { messages: MESSAGES, seconds: Math.round(seconds * 1000) / 1000 },
      })
    } finally {
      server.child.kill('SIGTERM')
      await server.exited
      dir.remove()
    }
  }
  sink.close()
}

await main()
