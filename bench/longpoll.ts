/**
 * Long-poll release: 10,000 long polls held on one channel, one publish; the time from the publish
 * to each waiter's answer (p50, p99, and the last), over several rounds.
 */
import { Agent, request } from 'undici'
import { tempDir } from '../test/helpers/tmp.js'
import { waitUntil } from '../test/helpers/wait.js'
import { emit, percentile } from './lib/report.js'
import { benchServer } from './lib/server.js'

const WAITERS = Number(process.env.BENCH_WAITERS ?? 10_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

async function main(): Promise<void> {
  const dir = tempDir('switchboard-bench-')
  const server = await benchServer([
    '--data-dir',
    dir.path,
    '--log-level',
    'error',
    '--max-connections-per-client',
    String(WAITERS + 100),
  ])
  const agent = new Agent({ connections: WAITERS + 10, pipelining: 1, keepAliveTimeout: 60_000 })
  const p50s: number[] = []
  const p99s: number[] = []
  const lasts: number[] = []
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const after = round
      let published = 0
      const released: number[] = []
      const polls = Array.from({ length: WAITERS }, async () => {
        const res = await request(`${server.url}/v1/channels/crowd/messages?after=${after}&wait=60`, {
          dispatcher: agent,
        })
        const text = await res.body.text()
        released.push(performance.now() - published)
        if (!text.includes(`"offset":${after + 1}`))
          throw new Error(`unexpected answer: ${text.slice(0, 200)}`)
      })
      await waitUntil(
        async () => {
          const stats = (await (await fetch(`${server.url}/v1/stats`)).json()) as { long_polls: number }
          return stats.long_polls === WAITERS
        },
        { timeoutMs: 60_000, everyMs: 50, what: `${WAITERS} held polls` },
      )
      published = performance.now()
      const res = await fetch(`${server.url}/v1/channels/crowd/messages`, {
        method: 'POST',
        body: `round ${round}`,
      })
      if (res.status !== 201) throw new Error(`publish failed: ${res.status}`)
      await Promise.all(polls)
      p50s.push(percentile(released, 50))
      p99s.push(percentile(released, 99))
      lasts.push(Math.max(...released))
    }
    const details = { waiters: WAITERS, rounds: ROUNDS, per_round_last_ms: lasts.map((v) => Math.round(v)) }
    emit({
      bench: 'longpoll',
      name: `publish → answer, p50 of ${WAITERS} waiters`,
      value: percentile(p50s, 50),
      unit: 'ms',
      better: 'lower',
      details,
    })
    emit({
      bench: 'longpoll',
      name: `publish → answer, p99 of ${WAITERS} waiters`,
      value: percentile(p99s, 50),
      unit: 'ms',
      better: 'lower',
      details,
    })
    emit({
      bench: 'longpoll',
      name: `publish → last of ${WAITERS} waiters answered`,
      value: percentile(lasts, 50),
      unit: 'ms',
      better: 'lower',
      details,
    })
  } finally {
    await agent.close()
    server.child.kill('SIGTERM')
    await server.exited
    dir.remove()
  }
}

await main()
