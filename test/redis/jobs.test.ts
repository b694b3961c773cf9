import { Agent } from 'undici'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { call } from '../helpers/http.js'
import type { ServerProcess } from '../helpers/process.js'
import { redisAvailable } from '../helpers/redis.js'
import { waitUntil } from '../helpers/wait.js'
import { jobsApi } from '../jobs/api.js'
import { startNodes } from './nodes.js'

const isAlive = (node: ServerProcess) => node.child.exitCode === null && node.child.signalCode === null

if (await redisAvailable()) {
  describe('jobs across nodes on one Redis', () => {
    let stop: () => Promise<void> = async () => undefined
    const agent = new Agent({ connections: 400, pipelining: 1 })
    afterEach(() => stop())
    afterAll(() => agent.close())

    it('a job submitted on A wakes a claim held on B, and its result answers a long poll held on C', async () => {
      const started = await startNodes(3)
      stop = started.stop
      const [a, b, c] = started.nodes.map((node) => jobsApi(node.url, agent))

      const claiming = b.claim('across', 20, 10_000)
      // B's claim is held before the job exists.
      await waitUntil(
        async () =>
          (await call<{ held_claims: number }>(`${started.nodes[1].url}/v1/stats`)).body.held_claims > 0,
        { what: 'a held claim on B' },
      )
      const submittedAt = Date.now()
      const submitted = await a.submit('across', { data: { text: 'from A' } })
      expect(submitted.status).toBe(202)
      const claimed = await claiming
      expect(claimed.status).toBe(200)
      expect(claimed.body).toMatchObject({ id: submitted.body.id, state: 'active', data: { text: 'from A' } })
      // Woken by the other node's notice, not by the end of its 20 s wait.
      expect(Date.now() - submittedAt).toBeLessThan(2000)

      const polling = c.get(submitted.body.id, 20)
      await b.progress(claimed.body.id, claimed.body.lease as string, 50)
      const completed = await b.complete(claimed.body.id, claimed.body.lease as string, { text: 'FROM A' })
      expect(completed.status).toBe(200)
      const polled = await polling
      expect(polled.body).toMatchObject({ state: 'succeeded', result: { text: 'FROM A' }, progress: 50 })
    })

    it('200 workers over three nodes complete each of 10,000 jobs exactly once', async () => {
      const JOBS = 10_000
      const started = await startNodes(3)
      stop = started.stop
      const apis = started.nodes.map((node) => jobsApi(node.url, agent))
      const completions = new Map<string, number>()
      let done = 0
      let stale = 0
      const workers = Array.from({ length: 200 }, async (_, w) => {
        const api = apis[w % 3]
        while (done < JOBS) {
          const claimed = await api.claim('spread', 1, 30_000)
          if (claimed.status === 204) continue
          const answer = await api.complete(claimed.body.id, claimed.body.lease as string, null)
          if (answer.status !== 200) {
            stale += 1
            continue
          }
          completions.set(claimed.body.id, (completions.get(claimed.body.id) ?? 0) + 1)
          done += 1
        }
      })
      const submitted: string[] = []
      const submitters = Array.from({ length: 48 }, async (_, s) => {
        for (let i = s; i < JOBS; i += 48)
          submitted.push((await apis[s % 3].submit('spread', { data: i })).body.id)
      })
      await Promise.all([...submitters, ...workers])

      expect(new Set(submitted).size).toBe(JOBS)
      expect(completions.size).toBe(JOBS)
      expect([...completions.values()].every((n) => n === 1)).toBe(true)
      expect(stale).toBe(0)
      const counts = await call<{ counts: Record<string, number> }>(
        `${started.nodes[2].url}/v1/queues/spread`,
      )
      expect(counts.body.counts).toEqual({
        queued: 0,
        delayed: 0,
        active: 0,
        succeeded: JOBS,
        failed: 0,
        cancelled: 0,
      })
    }, 120_000)

    it('kill -9 of a node under submit and claim load: its jobs come back after their lease, none is done twice', async () => {
      const JOBS = 600
      const LEASE_MS = 1000
      const started = await startNodes(3)
      stop = started.stop
      const { nodes } = started
      const acknowledged = new Set<string>()
      const completions = new Map<string, number>()
      let abandoned = 0

      /** The next running node from `index` on. */
      const next = (index: number) => {
        for (let k = 0; k < nodes.length; k++) if (isAlive(nodes[(index + k) % 3])) return (index + k) % 3
        throw new Error('no node left')
      }
      const submitter = async (s: number) => {
        let home = s % 3
        for (let i = s; i < JOBS; i += 12) {
          for (;;) {
            try {
              const answer = await jobsApi(nodes[home].url, agent).submit(
                'failover',
                { data: i },
                { 'idempotency-key': `job-${i}` },
              )
              if (answer.status === 202) {
                acknowledged.add(answer.body.id)
                break
              }
            } catch {
              // The node died under the request: the same key on another node.
            }
            home = next(home + 1)
          }
        }
      }
      // A worker bound to a node: when the node dies, the worker dies with it (its job is abandoned
      // unfinished) and a new one starts on a running node. Workers of the doomed node hold the
      // first job they claim until it dies, so that some jobs surely die with it.
      let working = true
      let killed = false
      const worker = async (w: number) => {
        let home = w % 3
        while (working) {
          try {
            const api = jobsApi(nodes[home].url, agent)
            const claimed = await api.claim('failover', 1, LEASE_MS)
            if (claimed.status === 204) continue
            if (home === 1 && !killed) await waitUntil(() => killed, { timeoutMs: 60_000, what: 'the kill' })
            if (!isAlive(nodes[home])) {
              abandoned += 1
              continue
            }
            const answer = await api.complete(claimed.body.id, claimed.body.lease as string, null)
            if (answer.status === 200)
              completions.set(claimed.body.id, (completions.get(claimed.body.id) ?? 0) + 1)
          } catch {
            abandoned += 1
            home = next(home + 1)
          }
        }
      }
      const submitting = Promise.all(Array.from({ length: 12 }, (_, s) => submitter(s)))
      const workers = Promise.all(Array.from({ length: 30 }, (_, w) => worker(w)))
      // Mid-load, node 2 dies without a word.
      await waitUntil(() => completions.size >= JOBS / 3, {
        timeoutMs: 60_000,
        what: 'a third of the jobs done',
      })
      nodes[1].child.kill('SIGKILL')
      killed = true
      await submitting
      const counts = () =>
        call<{ counts: Record<string, number> }>(`${nodes[0].url}/v1/queues/failover`).then(
          (r) => r.body.counts,
        )
      await waitUntil(async () => (await counts()).succeeded === JOBS, {
        timeoutMs: 60_000,
        everyMs: 100,
        what: 'every job to succeed',
      })
      working = false
      await workers

      expect(abandoned).toBeGreaterThan(0)
      expect(acknowledged.size).toBe(JOBS)
      expect(await counts()).toEqual({
        queued: 0,
        delayed: 0,
        active: 0,
        succeeded: JOBS,
        failed: 0,
        cancelled: 0,
      })
      // No job was completed twice; any not seen here was completed by a request the dying node
      // stored but could not answer.
      expect([...completions.values()].every((n) => n === 1)).toBe(true)
      expect(completions.size).toBeGreaterThan(JOBS - 30)
      const api = jobsApi(nodes[2].url, agent)
      let again = 0
      for (const id of acknowledged) {
        const job = (await api.get(id)).body
        expect(job.state).toBe('succeeded')
        if (job.attempts > 1) again += 1
      }
      console.log(
        `kill -9 mid-load: ${abandoned} claims abandoned, ${again} jobs delivered again after their lease`,
      )
      expect(again).toBeGreaterThan(0)
    }, 120_000)
  })
}
