/**
 * HTTP publish requests/s beside a minimal node:http JSON echo server, both in their own process,
 * loaded by autocannon with the same connections and body. Ratio aim: ≥ 0.7.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import autocannon from 'autocannon'
import { freePort } from '../test/helpers/process.js'
import { tempDir } from '../test/helpers/tmp.js'
import { waitUntil } from '../test/helpers/wait.js'
import { emit } from './lib/report.js'
import { benchServer } from './lib/server.js'

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5)
const CONNECTIONS = 64
const BODY = JSON.stringify({ user: 'u-123', event: 'login', at: 1700000000000 })

const ECHO = `
const http = require('node:http')
http.createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const body = JSON.stringify({ echo: JSON.parse(Buffer.concat(chunks).toString()) })
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
}).listen(Number(process.argv[1]), '127.0.0.1')
`

async function hammer(url: string): Promise<{ rps: number; p50: number; p99: number; non2xx: number }> {
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: DURATION_S,
    body: BODY,
    headers: { 'content-type': 'application/json' },
  })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
  }
}

async function echoServer(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['-e', ECHO, String(port)], { stdio: 'ignore' })
  const url = `http://127.0.0.1:${port}`
  await waitUntil(
    () =>
      fetch(url, { method: 'POST', body: '{}' }).then(
        (r) => r.ok,
        () => false,
      ),
    { timeoutMs: 10_000 },
  )
  return { url, child }
}

async function main(): Promise<void> {
  const echo = await echoServer()
  const peer = await hammer(`${echo.url}/`)
  echo.child.kill('SIGTERM')
  emit({
    bench: 'http',
    name: `node:http JSON echo, ${CONNECTIONS} connections`,
    value: peer.rps,
    unit: 'req/s',
    better: 'higher',
    details: { p50_ms: peer.p50, p99_ms: peer.p99 },
  })

  const modes: [string, string[], string][] = [
    ['ephemeral channel', ['--fsync', 'os'], 'live:bench'],
    ['durable, fsync=os', ['--fsync', 'os'], 'bench'],
    ['durable, fsync=always', ['--fsync', 'always'], 'bench'],
  ]
  for (const [label, args, channel] of modes) {
    const dir = tempDir('switchboard-bench-')
    const file = `${dir.path}/config.json`
    const { writeFileSync } = await import('node:fs')
    writeFileSync(file, JSON.stringify({ namespaces: [{ pattern: 'live:*', ephemeral: true }] }))
    const server = await benchServer([
      '--data-dir',
      dir.path,
      '--config',
      file,
      '--log-level',
      'error',
      ...args,
    ])
    try {
      const ours = await hammer(`${server.url}/v1/channels/${channel}/messages`)
      emit({
        bench: 'http',
        name: `HTTP publish req/s (${label}), ${CONNECTIONS} connections`,
        value: ours.rps,
        unit: 'req/s',
        better: 'higher',
        peer: 'node:http JSON echo',
        peerValue: peer.rps,
        details: { p50_ms: ours.p50, p99_ms: ours.p99, non2xx: ours.non2xx },
      })
    } finally {
      server.child.kill('SIGTERM')
      await server.exited
      dir.remove()
    }
  }
}

await main()
