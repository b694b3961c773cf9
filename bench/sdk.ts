/**
 * SDK overhead: messages/s one subscriber receives through the SDK (`connect`, WebSocket forced,
 * a handler per message) beside a raw `ws` client speaking switchboard.v1.json, on the same server
 * and the same channel in the same run. The channel is filled first, so each subscriber reads it
 * from offset 0 as fast as the server sends and the client takes; client CPU per message is given too.
 */
import WebSocket from 'ws'
import { connect } from '../client/node.js'
import { postJson } from '../test/helpers/http.js'
import { tempDir } from '../test/helpers/tmp.js'
import { emit, percentile } from './lib/report.js'
import { benchServer } from './lib/server.js'

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 50_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const BATCH = 1000
const TIMEOUT_MS = 60_000
const CHANNEL = 'sdk-bench'

interface Round {
  readonly perSecond: number
  readonly cpuMicrosPerMessage: number
}

/** Times one subscriber from its subscribe until it has every message of the channel. */
async function timed(
  subscribe: (onMessage: (offset: number) => void) => Promise<() => void>,
): Promise<Round> {
  let received = 0
  let done!: () => void
  const all = new Promise<void>((resolve, reject) => {
    done = resolve
    setTimeout(
      () => reject(new Error(`only ${received} of ${MESSAGES} messages in time`)),
      TIMEOUT_MS,
    ).unref()
  })
  const cpu = process.cpuUsage()
  const started = performance.now()
  const stop = await subscribe((offset) => {
    received += 1
    if (offset === MESSAGES) done()
  })
  await all
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  stop()
  if (received !== MESSAGES) throw new Error(`received ${received} messages, expected ${MESSAGES}`)
  return { perSecond: MESSAGES / seconds, cpuMicrosPerMessage: (used.user + used.system) / MESSAGES }
}

const raw = (url: string) =>
  timed(async (onMessage) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, 'switchboard.v1.json')
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as { op: string; offset: number }
      if (frame.op === 'msg') onMessage(frame.offset)
    })
    ws.send(JSON.stringify({ op: 'sub', id: 1, channel: CHANNEL, after: 0 }))
    return () => ws.close()
  })

const sdk = (url: string) =>
  timed(async (onMessage) => {
    const client = connect(url, { transport: 'websocket' })
    await client.ready()
    client.subscribe(CHANNEL, (message) => onMessage(message.offset), { after: 0 })
    return () => client.close()
  })

const dir = tempDir('switchboard-bench-')
const server = await benchServer(['--data-dir', dir.path, '--fsync', 'os', '--log-level', 'error'])
try {
  const data = { user: 'u-123', event: 'login', text: 'x'.repeat(60) }
  for (let sent = 0; sent < MESSAGES; sent += BATCH) {
    const messages = Array.from({ length: Math.min(BATCH, MESSAGES - sent) }, () => ({
      channel: CHANNEL,
      data,
    }))
    const answer = await postJson(`${server.url}/v1/publish`, { messages })
    if (answer.status !== 201) throw new Error(`publish answered ${answer.status}`)
  }
  await raw(server.url) // warm-up, both sides
  await sdk(server.url)
  const rounds: { raw: Round; sdk: Round }[] = []
  for (let i = 0; i < ROUNDS; i++) rounds.push({ raw: await raw(server.url), sdk: await sdk(server.url) })
  const median = (pick: (r: { raw: Round; sdk: Round }) => number) => percentile(rounds.map(pick), 50)
  const rawRate = median((r) => r.raw.perSecond)
  emit({
    bench: 'sdk',
    name: `messages/s received by one subscriber through the SDK (WebSocket), ${MESSAGES} messages`,
    value: median((r) => r.sdk.perSecond),
    unit: 'msg/s',
    better: 'higher',
    peer: 'raw ws client',
    peerValue: rawRate,
    details: {
      rounds: ROUNDS,
      sdk_cpu_us_per_msg: median((r) => r.sdk.cpuMicrosPerMessage),
      raw_cpu_us_per_msg: median((r) => r.raw.cpuMicrosPerMessage),
    },
  })
} finally {
  server.child.kill('SIGTERM')
  await server.exited
  dir.remove()
}
