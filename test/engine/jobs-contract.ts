import { afterEach, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/core/engine.js'
import { jobChannel } from '../../src/core/jobs/job.js'
import type { Backoff } from '../../src/core/jobs/machine.js'
import { Namespaces } from '../../src/core/namespaces.js'
import { waitUntil } from '../helpers/wait.js'
import type { EngineFactory, EngineHandle } from './contract.js'

const BACKOFF: Backoff = { baseMs: 20, maxMs: 20, random: 0.5 }

let counter = 0
function spec(queue: string, data: unknown = null, extra: { maxAttempts?: number; delayMs?: number } = {}) {
  counter += 1
  return {
    id: `job-${process.pid}-${counter}`,
    queue,
    data,
    maxAttempts: extra.maxAttempts ?? 3,
    delayMs: extra.delayMs ?? 0,
    timeoutMs: null,
  }
}

async function events(engine: Engine, id: string): Promise<string[]> {
  const messages = await engine.read(jobChannel(id), 0, 100)
  return messages.map(
    (m) => `${m.headers.event}:${JSON.parse(Buffer.from(m.payload).toString()).state ?? 'progress'}`,
  )
}

/** The job store every engine must provide, run against each implementation. */
export function jobsContract(name: string, factory: EngineFactory): void {
  describe(`jobs contract: ${name}`, () => {
    let handle: EngineHandle
    const open = async (jobRetentionMs?: number) => {
      handle = await factory({ namespaces: new Namespaces(), idempotencyWindowMs: 60_000, jobRetentionMs })
      return handle.engine
    }
    afterEach(() => handle?.dispose?.())

    it('claims in FIFO order, one lease per job, each change appending its events atomically', async () => {
      const engine = await open()
      const a = (await engine.jobs.submit(spec('fifo', 'a'))).job
      const b = (await engine.jobs.submit(spec('fifo', 'b'))).job
      const [first, second, none] = await Promise.all([
        engine.jobs.claim('fifo', 'lease-1', 1000),
        engine.jobs.claim('fifo', 'lease-2', 1000),
        engine.jobs.claim('fifo', 'lease-3', 1000),
      ])
      expect([first?.id, second?.id, none]).toEqual([a.id, b.id, undefined])
      expect(first).toMatchObject({ state: 'active', attempts: 1, lease: 'lease-1' })
      await expect(
        engine.jobs.change(a.id, { kind: 'complete', lease: 'lease-2', result: 1 }),
      ).rejects.toMatchObject({ code: 'lease_expired' })
      await engine.jobs.change(a.id, { kind: 'progress', lease: 'lease-1', progress: 0.5 })
      const done = await engine.jobs.change(a.id, { kind: 'complete', lease: 'lease-1', result: 'ok' })
      expect(done).toMatchObject({ state: 'succeeded', result: 'ok', progress: 0.5 })
      expect(await engine.jobs.get(a.id)).toEqual(done)
      expect(await events(engine, a.id)).toEqual([
        'state:queued',
        'state:active',
        'progress:progress',
        'state:succeeded',
        'result:succeeded',
      ])
      await expect(engine.jobs.change('missing', { kind: 'cancel' })).rejects.toMatchObject({
        code: 'not_found',
      })
      expect(await engine.jobs.counts('fifo')).toMatchObject({ active: 1, succeeded: 1, queued: 0 })
    })

    it('hands a new job to a waiting worker in the same write: stored active under its lease, after a queued event', async () => {
      const engine = await open()
      const handTo = { lease: 'waiting-lease', leaseMs: 5000 }
      const result = await engine.jobs.submit({ ...spec('handed', 'h'), handTo })
      expect(result.job).toMatchObject({ state: 'queued', attempts: 0, lease: null })
      expect(result.handed).toMatchObject({
        id: result.job.id,
        state: 'active',
        attempts: 1,
        lease: 'waiting-lease',
      })
      expect(await engine.jobs.get(result.job.id)).toEqual(result.handed)
      expect(await engine.jobs.claim('handed', 'other-lease', 1000)).toBeUndefined()
      expect(await events(engine, result.job.id)).toEqual(['state:queued', 'state:active'])
      // Its lease runs out like any other.
      expect(await engine.jobs.nextDue()).toBe(result.handed?.leaseExpiresAt)
      const done = await engine.jobs.change(result.job.id, {
        kind: 'complete',
        lease: 'waiting-lease',
        result: 1,
      })
      expect(done.state).toBe('succeeded')
      // A delayed job is never handed over.
      const later = await engine.jobs.submit({ ...spec('handed', null, { delayMs: 60_000 }), handTo })
      expect(later.handed).toBeUndefined()
      expect(later.job.state).toBe('delayed')
    })

    it('finishes a job and claims the next of its queue in one write; a refused change claims nothing', async () => {
      const engine = await open()
      const [a, b] = [
        (await engine.jobs.submit(spec('chain', 'a'))).job,
        (await engine.jobs.submit(spec('chain', 'b'))).job,
      ]
      await engine.jobs.claim('chain', 'lease-a', 5000)
      await expect(
        engine.jobs.changeThenClaim(
          a.id,
          { kind: 'complete', lease: 'stale', result: 1 },
          {
            lease: 'lease-b',
            leaseMs: 5000,
          },
        ),
      ).rejects.toMatchObject({ code: 'lease_expired' })
      expect(await engine.jobs.get(b.id)).toMatchObject({ state: 'queued' })

      const finished = await engine.jobs.changeThenClaim(
        a.id,
        { kind: 'complete', lease: 'lease-a', result: 'done' },
        { lease: 'lease-b', leaseMs: 5000 },
      )
      expect(finished.job).toMatchObject({ id: a.id, state: 'succeeded', result: 'done' })
      expect(finished.next).toMatchObject({ id: b.id, state: 'active', lease: 'lease-b', attempts: 1 })
      expect(await engine.jobs.get(b.id)).toEqual(finished.next)
      expect(await events(engine, b.id)).toEqual(['state:queued', 'state:active'])

      const last = await engine.jobs.changeThenClaim(
        b.id,
        { kind: 'complete', lease: 'lease-b', result: 'done' },
        { lease: 'lease-c', leaseMs: 5000 },
      )
      expect(last.job.state).toBe('succeeded')
      expect(last.next).toBeUndefined()
    })

    it('expires leases and releases delayed jobs when due, and answers the next due time', async () => {
      const engine = await open()
      const job = (await engine.jobs.submit(spec('due', null, { maxAttempts: 2 }))).job
      const later = (await engine.jobs.submit(spec('due-later', null, { delayMs: 100 }))).job
      expect(later.state).toBe('delayed')
      const claimed = await engine.jobs.claim('due', 'l', 100)
      expect(claimed?.id).toBe(job.id)
      const next = await engine.jobs.nextDue()
      expect(next).toBeGreaterThan(Date.now() - 10)
      expect(await engine.jobs.due(BACKOFF)).toEqual([])
      // Time itself is what is tested here: wait until the lease and the delay are both over.
      const bothDue = Math.max(claimed?.leaseExpiresAt ?? 0, later.runAt)
      await new Promise((resolve) => setTimeout(resolve, bothDue - Date.now() + 5))
      const changed = await engine.jobs.due(BACKOFF)
      expect(changed.map((j) => [j.id, j.state]).sort()).toEqual(
        [
          [job.id, 'queued'],
          [later.id, 'queued'],
        ].sort(),
      )
      const again = await engine.jobs.claim('due', 'l2', 50)
      expect(again).toMatchObject({ id: job.id, attempts: 2 })
      await new Promise((resolve) => setTimeout(resolve, 60))
      const [failed] = (await engine.jobs.due(BACKOFF)).filter((j) => j.id === job.id)
      expect(failed).toMatchObject({ state: 'failed', attempts: 2 })
      expect(failed.errors).toHaveLength(2)
      expect((await engine.jobs.list('due', 'failed', 10)).map((j) => j.id)).toEqual([job.id])
    })

    it('removes a finished job and its channel once its retention has passed, and no other job', async () => {
      const engine = await open(100)
      const done = (await engine.jobs.submit(spec('kept', 'done'))).job
      const waiting = (await engine.jobs.submit(spec('kept', 'waiting', { delayMs: 60_000 }))).job
      const claimed = await engine.jobs.claim('kept', 'l', 60_000)
      await engine.jobs.change(done.id, { kind: 'complete', lease: claimed?.lease as string, result: 'r' })
      expect(await events(engine, done.id)).toEqual([
        'state:queued',
        'state:active',
        'state:succeeded',
        'result:succeeded',
      ])
      // Removal happens on the engine's sweep (SQLite) or its due pass (memory, Redis): wait for it.
      await waitUntil(
        async () => {
          await engine.jobs.due(BACKOFF)
          return (await engine.jobs.get(done.id)) === undefined
        },
        { timeoutMs: 5000, what: 'the finished job to be removed' },
      )
      expect(await engine.info(jobChannel(done.id))).toBeUndefined()
      expect(await engine.read(jobChannel(done.id), 0, 10)).toEqual([])
      expect(await engine.jobs.get(waiting.id)).toMatchObject({ state: 'delayed' })
      expect(await events(engine, waiting.id)).toEqual(['state:delayed'])
    })

    it('deduplicates submits by idempotency key', async () => {
      const engine = await open()
      const key = { scope: 'submit:idem', key: 'k' }
      const first = await engine.jobs.submit(spec('idem'), key)
      const again = await engine.jobs.submit(spec('idem'), key)
      expect(again).toEqual({ job: first.job, replayed: true })
      expect((await engine.jobs.counts('idem')).queued).toBe(1)
    })

    it('keeps jobs across a reopen', async () => {
      const engine = await open()
      if (!handle.reopen) return
      const job = (await engine.jobs.submit(spec('durable', { x: 1 }))).job
      await engine.jobs.claim('durable', 'l', 60_000)
      const reopened = await handle.reopen()
      expect(await reopened.jobs.get(job.id)).toMatchObject({ state: 'active', data: { x: 1 }, lease: 'l' })
      expect(await events(reopened, job.id)).toEqual(['state:queued', 'state:active'])
    })
  })
}
