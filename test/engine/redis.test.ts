import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { Namespaces } from '../../src/core/namespaces.js'
import { RedisEngine } from '../../src/engine/redis/engine.js'
import { REDIS_URL, redisAvailable } from '../helpers/redis.js'
import { engineContract } from './contract.js'
import { jobsContract } from './jobs-contract.js'
import { redisEngineFactory } from './redis-factory.js'

const available = await redisAvailable()

async function removeKeys(prefix: string): Promise<void> {
  const admin = new Redis(REDIS_URL)
  const keys = await admin.keys(`${prefix}*`)
  if (keys.length > 0) await admin.del(...keys)
  await admin.quit()
}

/** A Redis engine under a fresh key prefix, whose keys are removed by `dispose`. */
const redisEngine = redisEngineFactory(() => REDIS_URL, removeKeys)

if (available) {
  engineContract('redis', redisEngine, { durable: true })
  jobsContract('redis', redisEngine)
}

if (available) {
  describe('redis jobs seen from two nodes', () => {
    it('applies a change on a job another node changed since this node last wrote it', async () => {
      const namespaces = new Namespaces()
      const prefix = `sbtest:${randomUUID()}:`
      const node = () =>
        new RedisEngine({
          url: REDIS_URL,
          prefix,
          settingsFor: (c) => namespaces.settingsFor(c),
          idempotencyWindowMs: 60_000,
        })
      const a = { engine: node() }
      const b = node()
      try {
        const spec = { queue: 'two', data: 1, maxAttempts: 1, delayMs: 0, timeoutMs: null }
        await a.engine.jobs.submit({ id: `two-${randomUUID()}`, ...spec })
        const claimed = await a.engine.jobs.claim('two', 'lease-a', 1000)
        // B extends the lease: A's remembered document now says it ends earlier than it does.
        const extended = await b.jobs.change(claimed!.id, {
          kind: 'heartbeat',
          lease: 'lease-a',
          leaseMs: 60_000,
        })
        expect(extended.leaseExpiresAt).toBeGreaterThan(claimed!.leaseExpiresAt as number)
        const progressed = await a.engine.jobs.change(claimed!.id, {
          kind: 'progress',
          lease: 'lease-a',
          progress: 5,
        })
        expect(progressed).toMatchObject({ progress: 5, leaseExpiresAt: extended.leaseExpiresAt })
        // B cancels: A's next heartbeat hears of it rather than being refused.
        await b.jobs.change(claimed!.id, { kind: 'cancel' })
        const heard = await a.engine.jobs.change(claimed!.id, {
          kind: 'heartbeat',
          lease: 'lease-a',
          leaseMs: 1000,
        })
        expect(heard.state).toBe('cancelled')
      } finally {
        await Promise.all([a.engine.close(), b.close()])
        await removeKeys(prefix)
      }
    })
  })
}
