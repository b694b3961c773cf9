/**
 * RPC round trips/s with one worker: `POST /v1/rpc/{queue}` answered by one SDK worker (server in
 * its own process, at fsync=os and at the default fsync=always), beside NATS request/reply on the
 * local NATS with one responder; the same calls, one at a time and 16 in flight, in the same run.
 */
import { connect as natsConnect } from 'nats'
import { connect } from '../client/node.js'
import { tempDir } from '../test/helpers/tmp.js'
import { emit, percentile } from './lib/report.js'
import { benchServer } from './lib/server.js'

const CALLS = Number(process.env.BENCH_RPC_CALLS ?? 2000)
const DURATION_MS = Number(process.env.BENCH_DURATION_S ?? 5) * 1000
const NATS_URL = process.env.NATS_URL ?? '127.0.0.1:4222'
const REQUEST = { image: 'cat.png', width: 100 }

interface Run {
  readonly callsPerSecond: number
  readonly p50: number
  readonly p99: number
  readonly calls: number
}

/** `concurrency` callers, each calling after the last answer, until CALLS or DURATION_MS. */
async function drive(concurrency: number, call: () => Promise<unknown>): Promise<Run> {
  const latencies: number[] = []
  let started = 0
  const begin = performance.now()
  const deadline = begin + DURATION_MS
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < CALLS && performance.now() < deadline) {
        started += 1
        const t = performance.now()
        await call()
        latencies.push(performance.now() - t)
      }
    }),
  )
  const seconds = (performance.now() - begin) / 1000
  return {
    callsPerSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    calls: latencies.length,
  }
}

async function natsRun(concurrency: number): Promise<Run> {
  const responder = await natsConnect({ servers: NATS_URL })
  const caller = await natsConnect({ servers: NATS_URL })
  const subject = `bench.rpc.${process.pid}`
  responder.subscribe(subject, { callback: (_error, message) => message.respond(message.data) })
  await responder.flush()
  const payload = new TextEncoder().encode(JSON.stringify(REQUEST))
  try {
    await drive(concurrency, () => caller.request(subject, payload, { timeout: 5000 })) // warm-up
    return await drive(concurrency, async () =>
      JSON.parse(new TextDecoder().decode((await caller.request(subject, payload, { timeout: 5000 })).data)),
    )
  } finally {
    await caller.close()
    await responder.close()
  }
}

async function switchboardRun(fsync: string, concurrency: number): Promise<Run> {
  const dir = tempDir('switchboard-bench-')
  const server = await benchServer(['--data-dir', dir.path, '--fsync', fsync, '--log-level', 'error'])
  const client = connect(server.url, { lazy: true })
  const worker = client.worker('resize', async (job) => job.data, { concurrency })
  try {
    const call = () => client.call('resize', REQUEST, { timeoutMs: 5000 })
    await drive(concurrency, call) // warm-up
    return await drive(concurrency, call)
  } finally {
    await worker.stop()
    client.close()
    server.child.kill('SIGTERM')
    await server.exited
    dir.remove()
  }
}

for (const concurrency of [1, 16]) {
  const peer = await natsRun(concurrency)
  emit({
    bench: 'rpc',
    name: `NATS request/reply, one responder, ${concurrency} in flight`,
    value: peer.callsPerSecond,
    unit: 'calls/s',
    better: 'higher',
    details: { p50_ms: peer.p50, p99_ms: peer.p99, calls: peer.calls },
  })
  for (const fsync of ['os', 'always']) {
    const ours = await switchboardRun(fsync, concurrency)
    emit({
      bench: 'rpc',
      name: `RPC round trips/s, one SDK worker, ${concurrency} in flight, fsync=${fsync}`,
      value: ours.callsPerSecond,
      unit: 'calls/s',
      better: 'higher',
      peer: 'NATS request/reply',
      peerValue: peer.callsPerSecond,
      details: { p50_ms: ours.p50, p99_ms: ours.p99, calls: ours.calls },
    })
  }
}
