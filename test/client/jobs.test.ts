import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Client,
  connect,
  JobCancelledError,
  JobFailedError,
  TimeoutError,
  WorkerFailedError,
} from '../../client/node.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitUntil } from '../helpers/wait.js'

let server: TestServer
const clients: Client[] = []
beforeAll(async () => {
  server = await startTestServer({ jobs: { backoffBaseMs: 20, backoffMaxMs: 50 } })
})
afterAll(async () => {
  for (const client of clients) client.close()
  await server.stop()
})

function client(): Client {
  const c = connect(server.url, { lazy: true, reconnectDelayMs: 50 })
  clients.push(c)
  return c
}

describe('SDK jobs', () => {
  it('submits, follows progress, waits for the result, and reattaches by id from another client', async () => {
    const producer = client()
    const worker = client().worker<{ n: number }, number>('sdk-double', async (job) => {
      await job.progress(50)
      await job.progress(100)
      return job.data.n * 2
    })
    const handle = await producer.submit<number>('sdk-double', { n: 21 })
    const progress: unknown[] = []
    const events = handle.onProgress((p) => progress.push(p))
    await events.ready
    expect(await handle.wait({ timeoutMs: 10_000 })).toBe(42)
    await waitUntil(() => progress.length === 2, { what: 'both progress events' })
    expect(progress).toEqual([50, 100])

    const elsewhere = client().job<number>(handle.id)
    expect(await elsewhere.status()).toMatchObject({ id: handle.id, state: 'succeeded', result: 42 })
    expect(await elsewhere.wait()).toBe(42)
    await worker.stop()
  })

  it('rejects wait() of a failed or cancelled job with typed errors, and calls RPC with a timeout', async () => {
    const c = client()
    const failing = c.worker('sdk-fail', async () => {
      throw new Error('no codec')
    })
    const failed = await c.submit('sdk-fail', null, { maxAttempts: 2 })
    await expect(failed.wait({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(JobFailedError)
    expect((await failed.status()).errors).toHaveLength(2)
    await failing.stop()

    const parked = await c.submit('sdk-nobody', null)
    expect((await parked.cancel()).state).toBe('cancelled')
    await expect(parked.wait()).rejects.toBeInstanceOf(JobCancelledError)

    await expect(c.call('sdk-nobody-rpc', { q: 1 }, { timeoutMs: 200 })).rejects.toBeInstanceOf(TimeoutError)
    const answering = c.worker<{ q: number }, number>('sdk-rpc', async (job) => {
      if (job.data.q < 0) throw new Error('negative')
      return job.data.q + 1
    })
    expect(await c.call('sdk-rpc', { q: 1 }, { timeoutMs: 5000 })).toBe(2)
    const refused = c.call('sdk-rpc', { q: -1 }, { timeoutMs: 5000 })
    await expect(refused).rejects.toBeInstanceOf(WorkerFailedError)
    await expect(refused).rejects.toMatchObject({ error: 'negative' })
    await answering.stop()
  })

  it('runs jobs with the given concurrency and renews the lease of a job that outlives it', async () => {
    const c = client()
    let running = 0
    let most = 0
    const worker = c.worker(
      'sdk-slow',
      async () => {
        running += 1
        most = Math.max(most, running)
        await new Promise((resolve) => setTimeout(resolve, 900))
        running -= 1
        return 'done'
      },
      { concurrency: 4, leaseMs: 300 },
    )
    const handles = await Promise.all(Array.from({ length: 8 }, (_, i) => c.submit('sdk-slow', i)))
    for (const handle of handles) expect(await handle.wait({ timeoutMs: 20_000 })).toBe('done')
    expect(most).toBe(4)
    // Each ran three times longer than its lease, yet none was delivered twice.
    for (const handle of handles) expect((await handle.status()).attempts).toBe(1)
    await worker.stop()
  })

  it('cancels an active job: the worker hears of it through its heartbeat', async () => {
    const c = client()
    let aborted = false
    const worker = c.worker(
      'sdk-cancel',
      async (job) => {
        await new Promise<void>((resolve) =>
          job.signal.addEventListener('abort', () => resolve(), { once: true }),
        )
        aborted = true
        return 'ignored'
      },
      { leaseMs: 300 },
    )
    const handle = await c.submit('sdk-cancel', null)
    await waitUntil(async () => (await handle.status()).state === 'active', { what: 'the job to start' })
    await handle.cancel()
    await waitUntil(() => aborted, { what: 'the worker to learn of the cancel' })
    expect((await handle.status()).state).toBe('cancelled')
    await worker.stop()
  })
})
