/**
 * Jobs end to end: jobs/s and submit→completed latency (p50, p99) with 1 and 50 concurrent HTTP
 * workers (server in its own process) and with in-process workers calling the core (each finishing
 * a job and claiming the next in one call, as BullMQ's workers do), on SQLite
 * (fsync=always) and on the Redis engine (the local Redis, fsync=os: it does not persist); beside
 * BullMQ on the same Redis with the same job count and concurrency, in the same run.
 */
import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { Agent } from 'undici'
import { type ConfigInput, loadConfig } from '../src/config.js'
import type { JobRecord } from '../src/core/jobs/job.js'
import { startServer } from '../src/server.js'
import { tempDir } from '../test/helpers/tmp.js'
import { type JobView, jobsApi } from '../test/jobs/api.js'
import { emit, percentile } from './lib/report.js'
import { benchServer } from './lib/server.js'

const JOBS = Number(process.env.BENCH_JOBS ?? 10_000)
const SUBMITTERS = 50
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

interface Run {
  readonly jobsPerSecond: number
  readonly p50: number
  readonly p99: number
}

/** Submits JOBS with SUBMITTERS in parallel while workers run; times each job from submit to completion. */
async function measure(
  submit: (i: number) => Promise<string>,
  startWorkers: (onDone: (id: string) => void) => { stop: () => Promise<void> },
): Promise<Run> {
  const submittedAt = new Map<string, number>()
  const latencies: number[] = []
  let finished!: () => void
  const all = new Promise<void>((resolve) => {
    finished = resolve
  })
  const early = new Map<string, number>()
  const onDone = (id: string) => {
    const now = performance.now()
    const at = submittedAt.get(id)
    if (at === undefined) early.set(id, now)
    else latencies.push(now - at)
    if (latencies.length + early.size === JOBS) finished()
  }
  const workers = startWorkers(onDone)
  const started = performance.now()
  await Promise.all(
    Array.from({ length: SUBMITTERS }, async (_, s) => {
      for (let i = s; i < JOBS; i += SUBMITTERS) {
        const before = performance.now()
        const id = await submit(i)
        const doneAt = early.get(id)
        if (doneAt !== undefined) {
          early.delete(id)
          latencies.push(doneAt - before)
        } else submittedAt.set(id, before)
      }
    }),
  )
  const timeout = setTimeout(() => finished(), 120_000)
  await all
  clearTimeout(timeout)
  const elapsed = (performance.now() - started) / 1000
  await workers.stop()
  return {
    jobsPerSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  }
}

/** Where a run keeps its jobs: the default SQLite file, or the local Redis under a fresh prefix. */
interface Store {
  readonly label: string
  readonly args: string[]
  readonly overrides: ConfigInput
  readonly cleanup: () => Promise<void>
}

function sqliteStore(dir: string): Store {
  return {
    label: 'SQLite, fsync=always',
    args: ['--data-dir', dir],
    overrides: { dataDir: dir },
    cleanup: async () => {},
  }
}

function redisStore(dir: string): Store {
  const prefix = `switchboard-bench-${randomUUID()}:`
  const engine = { engine: REDIS_URL, redisPrefix: prefix, fsync: 'os' as const }
  return {
    label: 'Redis engine, fsync=os',
    args: ['--data-dir', dir, '--engine', REDIS_URL, '--redis-prefix', prefix, '--fsync', 'os'],
    overrides: { dataDir: dir, ...engine },
    cleanup: async () => {
      const redis = new Redis(REDIS_URL)
      const keys = await redis.keys(`${prefix}*`)
      for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000))
      await redis.quit()
    },
  }
}

async function httpRun(concurrency: number, storeOf: (dir: string) => Store): Promise<Run> {
  const dir = tempDir('switchboard-bench-')
  const store = storeOf(dir.path)
  const server = await benchServer([...store.args, '--log-level', 'error'])
  const agent = new Agent({ connections: SUBMITTERS + concurrency + 10 })
  const api = jobsApi(server.url, agent)
  const queue = `bench-${concurrency}`
  try {
    return await measure(
      async (i) => (await api.submit(queue, { data: { i } })).body.id,
      (onDone) => {
        let running = true
        const loops = Array.from({ length: concurrency }, async () => {
          // As the SDK's worker does: finishing a job also claims the next one (`?next=true`).
          let next: JobView | undefined
          while (running) {
            const job = next ?? (await api.claim(queue, 1, 30_000)).body
            next = undefined
            if (!job?.lease) continue
            const done = await api.complete(job.id, job.lease, job.data, 'next=true')
            onDone(job.id)
            next = done.body.next ?? undefined
          }
        })
        return {
          stop: async () => {
            running = false
            await Promise.all(loops)
          },
        }
      },
    )
  } finally {
    await agent.close()
    server.child.kill('SIGTERM')
    await server.exited
    await store.cleanup()
    dir.remove()
  }
}

async function inProcessRun(concurrency: number, storeOf: (dir: string) => Store): Promise<Run> {
  const dir = tempDir('switchboard-bench-')
  const store = storeOf(dir.path)
  const server = await startServer(
    loadConfig({ overrides: { port: 0, tcpPort: -1, logLevel: 'error', ...store.overrides } }),
  )
  const { jobs } = server
  try {
    return await measure(
      async (i) => (await jobs.submit('inproc', { data: { i } })).job.id,
      (onDone) => {
        let running = true
        const stopping = new AbortController()
        setMaxListeners(0, stopping.signal)
        const loops = Array.from({ length: concurrency }, async () => {
          let next: JobRecord | undefined
          while (running) {
            const job = next ?? (await jobs.claim('inproc', 30_000, 1000, stopping.signal))
            next = undefined
            if (!job) continue
            next = (await jobs.completeThenClaim(job.id, job.lease as string, job.data)).next
            onDone(job.id)
          }
        })
        return {
          stop: async () => {
            running = false
            stopping.abort()
            await Promise.all(loops)
          },
        }
      },
    )
  } finally {
    await server.close()
    await store.cleanup()
    dir.remove()
  }
}

async function bullmqRun(concurrency: number): Promise<Run> {
  const prefix = `switchboard-bench-${process.pid}-${concurrency}`
  const connection = { url: REDIS_URL, maxRetriesPerRequest: null }
  const queue = new Queue('bench', { connection, prefix })
  try {
    return await measure(
      async (i) => (await queue.add('job', { i }, { removeOnComplete: true })).id as string,
      (onDone) => {
        const worker = new Worker('bench', async (job) => job.data, { connection, prefix, concurrency })
        worker.on('completed', (job) => onDone(job.id as string))
        return { stop: () => worker.close() }
      },
    )
  } finally {
    await queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
  }
}

async function redisAnswers(): Promise<boolean> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    return (await redis.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    redis.disconnect()
  }
}

const hasRedis = await redisAnswers()
if (!hasRedis) process.stderr.write(`bench:jobs: no Redis at ${REDIS_URL}; BullMQ is left out of this run\n`)

for (const concurrency of [1, 50]) {
  const peer = hasRedis ? await bullmqRun(concurrency) : undefined
  const stores = hasRedis ? [sqliteStore, redisStore] : [sqliteStore]
  const scenarios: [string, () => Promise<Run>][] = stores.flatMap((store) => {
    const { label } = store('')
    return [
      [`HTTP workers (${concurrency}), ${label}`, () => httpRun(concurrency, store)],
      [`in-process workers (${concurrency}), ${label}`, () => inProcessRun(concurrency, store)],
    ] as [string, () => Promise<Run>][]
  })
  for (const [label, run] of scenarios) {
    const ours = await run()
    emit({
      bench: 'jobs',
      name: `jobs/s end to end, ${label}, ${JOBS} jobs`,
      value: ours.jobsPerSecond,
      unit: 'jobs/s',
      better: 'higher',
      ...(peer
        ? {
            peer: `BullMQ (${concurrency} concurrency, Redis without persistence)`,
            peerValue: peer.jobsPerSecond,
          }
        : {}),
      details: {
        p50_ms: Math.round(ours.p50 * 10) / 10,
        p99_ms: Math.round(ours.p99 * 10) / 10,
        ...(peer
          ? { peer_p50_ms: Math.round(peer.p50 * 10) / 10, peer_p99_ms: Math.round(peer.p99 * 10) / 10 }
          : {}),
      },
    })
  }
}
