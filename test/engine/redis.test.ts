import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { RedisEngine } from '../../src/engine/redis/engine.js'
import { REDIS_URL, redisAvailable } from '../helpers/redis.js'
import { type EngineFactory, engineContract } from './contract.js'
import { jobsContract } from './jobs-contract.js'

const available = await redisAvailable()

/** A Redis engine under a fresh key prefix, whose keys are removed by `dispose`. */
const redisEngine: EngineFactory = async ({ namespaces, idempotencyWindowMs }) => {
  const prefix = `sbtest:${randomUUID()}:`
  const open = () =>
    new RedisEngine({
      url: REDIS_URL,
      prefix,
      settingsFor: (c) => namespaces.settingsFor(c),
      idempotencyWindowMs,
    })
  let engine = open()
  return {
    engine,
    reopen: async () => {
      await engine.close()
      engine = open()
      return engine
    },
    dispose: async () => {
      await engine.close().catch(() => undefined)
      const admin = new Redis(REDIS_URL)
      const keys = await admin.keys(`${prefix}*`)
      if (keys.length > 0) await admin.del(...keys)
      await admin.quit()
    },
  }
}

if (available) {
  engineContract('redis', redisEngine, { durable: true })
  jobsContract('redis', redisEngine)
}
