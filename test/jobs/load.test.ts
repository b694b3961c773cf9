import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { jobsApi } from './api.js'

const WORKERS = 200
const JOBS = 10_000

let server: TestServer
let agent: Agent
beforeAll(async () => {
  server = await startTestServer({ fsync: 'os' })
  agent = new Agent({ connections: WORKERS + 50, pipelining: 1 })
})
afterAll(async () => {
  await agent.close()
  await server.stop()
})

describe('many workers on one queue', () => {
  it(`completes each of ${JOBS} jobs exactly once with ${WORKERS} workers long-polling claims`, async () => {
    const api = jobsApi(server.url, agent)
    const completions = new Map<string, number>()
    let done = 0
    let stale = 0
    const workers = Array.from({ length: WORKERS }, async () => {
      while (done < JOBS) {
        const claimed = await api.claim('load', 1, 30_000)
        if (claimed.status === 204) continue
        const job = claimed.body
        const answer = await api.complete(job.id, job.lease as string, job.data)
        if (answer.status !== 200) {
          stale += 1
          continue
        }
        completions.set(job.id, (completions.get(job.id) ?? 0) + 1)
        done += 1
      }
    })
    const submitted: string[] = []
    const submitters = Array.from({ length: 50 }, async (_, s) => {
      for (let i = s; i < JOBS; i += 50) submitted.push((await api.submit('load', { data: i })).body.id)
    })
    await Promise.all(submitters)
    await Promise.all(workers)

    expect(submitted).toHaveLength(JOBS)
    expect(new Set(submitted).size).toBe(JOBS)
    expect(completions.size).toBe(JOBS)
    expect([...completions.values()].every((n) => n === 1)).toBe(true)
    expect(stale).toBe(0)
    const counts = await call<{ counts: Record<string, number> }>(`${server.url}/v1/queues/load`)
    expect(counts.body.counts).toEqual({
      queued: 0,
      delayed: 0,
      active: 0,
      succeeded: JOBS,
      failed: 0,
      cancelled: 0,
    })
  }, 120_000)
})
