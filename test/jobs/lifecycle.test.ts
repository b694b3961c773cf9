import { EventSource } from 'eventsource'
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WireMessage } from '../../src/protocol/message-json.js'
import { call, readUntil } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitUntil } from '../helpers/wait.js'
import { type JobView, jobsApi } from './api.js'

let server: TestServer
let api: ReturnType<typeof jobsApi>
beforeAll(async () => {
  server = await startTestServer({ jobs: { backoffBaseMs: 40, backoffMaxMs: 200 } })
  api = jobsApi(server.url)
})
afterAll(() => server.stop())

/** What an event of a job's stream says: `state:<state>` or `progress:<value>`. */
function step(event: string, data: unknown): string {
  const d = data as { state?: string; progress?: unknown }
  return event === 'progress' ? `progress:${JSON.stringify(d.progress)}` : `${event}:${d.state}`
}

describe('jobs', () => {
  it('gives a handle at once; another client sees queued, active with progress, succeeded by short poll, long poll and SSE alike', async () => {
    const submitted = await api.submit('video', { data: { file: 'cat.mp4' } })
    expect(submitted.status).toBe(202)
    expect(submitted.body).toMatchObject({ queue: 'video', state: 'queued' })
    const { id } = submitted.body
    expect(submitted.headers.location).toBe(`/v1/jobs/${id}`)

    // Someone else, with only the id: their own connections.
    const other = new Agent()
    const observer = jobsApi(server.url, other)
    const shortPolls: string[] = []
    const look = async () => shortPolls.push((await observer.get(id)).body.state)

    const sse: string[] = []
    const source = new EventSource(`${server.url}/v1/jobs/${id}/events`)
    for (const event of ['state', 'progress', 'result'])
      source.addEventListener(event, (e) => sse.push(step(event, JSON.parse(e.data))))

    const longPolls: string[] = []
    const following = (async () => {
      let after = 0
      while (!longPolls.includes('result:succeeded')) {
        const page = await call<{ messages: WireMessage[]; next: number }>(
          `${server.url}/v1/channels/$job:${id}/messages?after=${after}&wait=5`,
          { dispatcher: other },
        )
        for (const m of page.body.messages) longPolls.push(step(m.headers.event, m.data))
        after = page.body.next
      }
    })()
    const finalByLongPoll = observer.get(id, 10)

    await look()
    const claimed = await api.claim('video', 1, 5000)
    expect(claimed.status).toBe(200)
    expect(claimed.body).toMatchObject({ id, state: 'active', attempts: 1, data: { file: 'cat.mp4' } })
    const lease = claimed.body.lease as string
    await look()
    expect((await api.progress(id, lease, 50)).status).toBe(204)
    expect((await observer.get(id)).body).toMatchObject({ state: 'active', progress: 50 })
    expect((await api.complete(id, lease, { url: '/out/cat.webm' })).status).toBe(200)
    await look()

    const final = await finalByLongPoll
    expect(final.body).toMatchObject({ state: 'succeeded', result: { url: '/out/cat.webm' }, attempts: 1 })
    await following
    await waitUntil(() => sse.includes('result:succeeded'), { what: 'the SSE result event' })
    source.close()
    await other.close()

    const sequence = ['state:queued', 'state:active', 'progress:50', 'state:succeeded', 'result:succeeded']
    expect(longPolls).toEqual(sequence)
    expect(sse).toEqual(sequence)
    expect(shortPolls).toEqual(['queued', 'active', 'succeeded'])

    // A watcher that saw the first two events resumes after them, by Last-Event-ID or by `after`.
    for (const resume of [{ headers: { 'last-event-id': '2' } }, { query: '?after=2' }]) {
      const response = await fetch(`${server.url}/v1/jobs/${id}/events${resume.query ?? ''}`, {
        headers: resume.headers,
      })
      const text = await readUntil(
        response,
        (t) => t.includes('event: result'),
        'the resumed stream to reach the result',
      )
      expect([...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual([3, 4, 5])
    }
  })

  it('answers Prefer: wait inline for a quick job and with 202 for a slow one', async () => {
    const worker = (async () => {
      const job = (await api.claim('quick', 5)).body
      await api.complete(job.id, job.lease as string, 'fast')
    })()
    const quick = await api.submit('quick', { data: 1 }, { prefer: 'wait=5' })
    await worker
    expect(quick.status).toBe(200)
    expect(quick.body).toMatchObject({ state: 'succeeded', result: 'fast' })
    expect(quick.headers['preference-applied']).toBe('wait=5')

    const started = Date.now()
    const slow = await api.submit('slow', { data: 1 }, { prefer: 'respond-async, wait=0.3' })
    expect(slow.status).toBe(202)
    expect(slow.body.state).toBe('queued')
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(slow.headers.location).toBe(`/v1/jobs/${slow.body.id}`)
  })

  it('answers RPC with the result (200), the worker error (502) or a timeout (504, job cancelled)', async () => {
    const serve = async (answer: (job: JobView) => Promise<unknown>) => {
      const job = (await api.claim('rpc', 5)).body
      await answer(job)
    }
    const ok = serve((job) => api.complete(job.id, job.lease as string, { echo: job.data }))
    const answered = await api.rpc('rpc', { q: 1 }, 5000)
    await ok
    expect(answered.status).toBe(200)
    expect(answered.body).toEqual({ echo: { q: 1 } })

    const bad = serve((job) => api.fail(job.id, job.lease as string, { message: 'boom' }))
    const failed = await api.rpc('rpc', { q: 2 }, 5000)
    await bad
    expect(failed.status).toBe(502)
    expect(failed.body).toMatchObject({ code: 'worker_failed', error: { message: 'boom' } })

    const timedOut = await api.rpc('rpc-nobody', { q: 3 }, 200)
    expect(timedOut.status).toBe(504)
    expect(timedOut.body.code).toBe('timeout')
    const job = await api.get(timedOut.body.job as string)
    expect(job.body.state).toBe('cancelled')
  })

  it('cancels a queued job, and an active one whose worker learns it at its next heartbeat', async () => {
    const queued = (await api.submit('cancel', { data: 1 })).body
    expect((await api.cancel(queued.id)).body.state).toBe('cancelled')
    expect((await api.claim('cancel', 0)).status).toBe(204)

    const active = (await api.submit('cancel', { data: 2 })).body
    const claimed = (await api.claim('cancel', 1)).body
    expect(claimed.id).toBe(active.id)
    expect((await api.heartbeat(active.id, claimed.lease as string)).body.cancelled).toBe(false)
    expect((await api.cancel(active.id)).body.state).toBe('cancelled')
    expect((await api.heartbeat(active.id, claimed.lease as string)).body.cancelled).toBe(true)
    const late = await api.complete(active.id, claimed.lease as string, 'too late')
    expect(late.status).toBe(409)
    expect((await api.get(active.id)).body).toMatchObject({ state: 'cancelled', result: null })
    // Cancelling a job that ended answers its final state.
    expect((await api.cancel(active.id)).body.state).toBe('cancelled')
  })

  it('retries a failed attempt after a backoff, and keeps every error once the last attempt fails', async () => {
    const { id } = (await api.submit('flaky', { data: 1, max_attempts: 3 })).body
    const delays: number[] = []
    for (let attempt = 1; attempt <= 3; attempt++) {
      const before = Date.now()
      const job = (await api.claim('flaky', 5)).body
      if (attempt > 1) delays.push(Date.now() - before)
      expect(job).toMatchObject({ id, attempts: attempt })
      const after = (await api.fail(id, job.lease as string, { message: `attempt ${attempt}` })).body
      expect(after.state).toBe(attempt < 3 ? 'delayed' : 'failed')
    }
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(15)
    const final = (await api.get(id)).body
    expect(final).toMatchObject({ state: 'failed', attempts: 3, error: { message: 'attempt 3' } })
    expect(final.errors).toEqual([
      { message: 'attempt 1' },
      { message: 'attempt 2' },
      { message: 'attempt 3' },
    ])
    const dead = await call<{ jobs: JobView[] }>(`${server.url}/v1/queues/flaky/failed`)
    expect(dead.body.jobs.map((j) => j.id)).toEqual([id])
    // retry: false fails at once.
    const once = (await api.submit('flaky', { data: 2 })).body
    const held = (await api.claim('flaky', 1)).body
    expect((await api.fail(once.id, held.lease as string, 'fatal', false)).body.state).toBe('failed')
  })

  it('gives a job whose worker died to the next worker once the lease runs out', async () => {
    const { id } = (await api.submit('crashy', { data: 1 })).body
    const first = (await api.claim('crashy', 1, 200)).body
    expect(first.attempts).toBe(1)
    // The first worker never answers; the second waits for the job to come back.
    const second = (await api.claim('crashy', 5, 5000)).body
    expect(second).toMatchObject({ id, attempts: 2 })
    expect((await api.complete(id, first.lease as string, 'stale')).status).toBe(409)
    expect((await api.complete(id, second.lease as string, 'ok')).status).toBe(200)
    expect((await api.get(id)).body).toMatchObject({ state: 'succeeded', attempts: 2, result: 'ok' })
  })

  it('fires a delayed job on time', async () => {
    const before = Date.now()
    const { id, state } = (await api.submit('later', { data: 1, delay_ms: 400 })).body
    expect(state).toBe('delayed')
    expect((await api.claim('later', 0)).status).toBe(204)
    const job = (await api.claim('later', 5)).body
    const late = Date.now() - (before + 400)
    expect(job.id).toBe(id)
    expect(late).toBeGreaterThanOrEqual(-5)
    expect(late).toBeLessThan(50)
  })

  it('refuses bad input with problem+json and changes nothing', async () => {
    const { id } = (await api.submit('strict', { data: 1 })).body
    const claimed = (await api.claim('strict', 1)).body
    const cases: [Promise<{ status: number; body: unknown }>, number, string][] = [
      [api.get('no-such-job'), 404, 'not_found'],
      [api.cancel('no-such-job'), 404, 'not_found'],
      [api.complete(id, 'wrong-lease', 1), 409, 'lease_expired'],
      [api.progress(id, 'wrong-lease', 1), 409, 'lease_expired'],
      [api.heartbeat(id, 'wrong-lease'), 409, 'lease_expired'],
      [
        call(`${server.url}/v1/jobs/${id}/complete`, { method: 'POST', body: '{}' }),
        400,
        'invalid_parameter',
      ],
      [api.submit('strict', { data: 1, max_attempts: 0 }), 400, 'invalid_parameter'],
      [api.submit('strict', { data: 1, delay_ms: -5 }), 400, 'invalid_parameter'],
      [api.submit('strict', { data: 1, colour: 'red' }), 400, 'invalid_body'],
      [api.submit('strict', [1, 2]), 400, 'invalid_body'],
      [api.submit('bad queue', { data: 1 }), 400, 'invalid_queue'],
      [api.submit('strict', { data: 'x'.repeat(1_100_000) }), 413, 'payload_too_large'],
      [api.claim('strict', 0, 50), 400, 'invalid_parameter'],
      [api.complete(id, claimed.lease as string, 'r'.repeat(1_100_000)), 413, 'payload_too_large'],
      [api.progress(id, claimed.lease as string, 'p'.repeat(1_100_000)), 413, 'payload_too_large'],
      [api.fail(id, claimed.lease as string, 'e'.repeat(1_100_000)), 413, 'payload_too_large'],
      [
        call(`${server.url}/v1/queues/strict/jobs`, {
          method: 'POST',
          body: '{nope',
          headers: { 'content-type': 'application/json' },
        }),
        400,
        'invalid_json',
      ],
    ]
    for (const [answer, status, code] of cases) {
      const { status: got, body } = await answer
      expect([got, (body as { code?: string }).code]).toEqual([status, code])
    }
    expect((await api.get(id)).body).toMatchObject({ state: 'active', attempts: 1, progress: null })
    const counts = await call<{ counts: Record<string, number> }>(`${server.url}/v1/queues/strict`)
    expect(counts.body.counts).toMatchObject({ queued: 0, active: 1, succeeded: 0 })
    expect((await api.complete(id, claimed.lease as string, 'fine')).status).toBe(200)
  })

  it('hands a worker the next job with the answer that finishes the last one, and changes nothing on bad input', async () => {
    const ids = []
    for (const n of [1, 2, 3]) ids.push((await api.submit('chain', { data: n })).body.id)
    const first = await api.claim('chain', 0)
    expect(first.body.id).toBe(ids[0])
    const lease = first.body.lease as string

    // Refused before anything changes: the job stays active under its lease, the queue as it was.
    for (const [query, code] of [
      ['next=maybe', 'invalid_parameter'],
      ['next=true&lease_ms=5', 'invalid_parameter'],
    ]) {
      const refused = await api.complete(ids[0], lease, 'done', query)
      expect(refused.status).toBe(400)
      expect(refused.body).toMatchObject({ code })
    }
    const stale = await api.complete(ids[0], 'not-the-lease', 'done', 'next=true')
    expect(stale.status).toBe(409)
    expect((await api.get(ids[0])).body.state).toBe('active')
    const before = await call<{ counts: Record<string, number> }>(`${server.url}/v1/queues/chain`)
    expect(before.body.counts).toMatchObject({ queued: 2, active: 1 })

    const done = await api.complete(ids[0], lease, 'done', 'next=true&lease_ms=5000')
    expect(done.status).toBe(200)
    expect(done.body).toMatchObject({ id: ids[0], state: 'succeeded', result: 'done' })
    const second = done.body.next as JobView
    expect(second).toMatchObject({ id: ids[1], state: 'active', attempts: 1, data: 2 })
    expect(second.lease_expires_at).toBeGreaterThan(Date.now() + 3000)

    const failed = await api.fail(second.id, second.lease as string, 'broke', false, 'next=true')
    expect(failed.body).toMatchObject({ id: ids[1], state: 'failed' })
    const third = failed.body.next as JobView
    expect(third).toMatchObject({ id: ids[2], state: 'active' })

    const last = await api.complete(third.id, third.lease as string, 'done', 'next=true')
    expect(last.body).toMatchObject({ id: ids[2], state: 'succeeded', next: null })
    const after = await call<{ counts: Record<string, number> }>(`${server.url}/v1/queues/chain`)
    expect(after.body.counts).toMatchObject({ queued: 0, active: 0, succeeded: 2, failed: 1 })
  })

  it('caps a lease at jobs.maxLeaseMs, on a claim and on a heartbeat', async () => {
    const HOUR = 3_600_000
    const { id } = (await api.submit('capped', { data: 1 })).body
    const before = Date.now()
    const claimed = (await api.claim('capped', 1, 5 * HOUR)).body
    const after = Date.now()
    expect(claimed.id).toBe(id)
    expect(claimed.lease_expires_at).toBeGreaterThanOrEqual(before + HOUR)
    expect(claimed.lease_expires_at).toBeLessThanOrEqual(after + HOUR)
    const beat = await call<{ lease_expires_at: number }>(`${server.url}/v1/jobs/${id}/heartbeat`, {
      method: 'POST',
      body: JSON.stringify({ lease_ms: 5 * HOUR }),
      headers: { 'content-type': 'application/json', 'switchboard-lease': claimed.lease as string },
    })
    expect(beat.status).toBe(200)
    expect(beat.body.lease_expires_at).toBeLessThanOrEqual(Date.now() + HOUR)
    expect(beat.body.lease_expires_at).toBeGreaterThanOrEqual(claimed.lease_expires_at as number)
    expect((await api.complete(id, claimed.lease as string, 'done')).status).toBe(200)
  })

  it('deduplicates submits by Idempotency-Key', async () => {
    const first = await api.submit('idem', { data: 1 }, { 'idempotency-key': 'k-1' })
    const again = await api.submit('idem', { data: 1 }, { 'idempotency-key': 'k-1' })
    expect(again.body.id).toBe(first.body.id)
    expect(again.headers['idempotent-replayed']).toBe('true')
    const counts = await call<{ counts: Record<string, number> }>(`${server.url}/v1/queues/idem`)
    expect(counts.body.counts.queued).toBe(1)
  })
})
