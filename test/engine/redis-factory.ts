import { randomUUID } from 'node:crypto'
import { RedisEngine } from '../../src/engine/redis/engine.js'
import { durableHandle, type EngineFactory } from './contract.js'

/**
 * Redis engines on the Redis that `url()` names when a test opens one, each under a fresh key
 * prefix; `removeKeys` runs with that prefix on dispose.
 */
export function redisEngineFactory(
  url: () => string,
  removeKeys: (prefix: string) => Promise<void> = async () => undefined,
): EngineFactory {
  return async ({ namespaces, idempotencyWindowMs, jobRetentionMs }) => {
    const prefix = `sbtest:${randomUUID()}:`
    const open = () =>
      new RedisEngine({
        url: url(),
        prefix,
        settingsFor: (c) => namespaces.settingsFor(c),
        idempotencyWindowMs,
        jobRetentionMs,
      })
    return durableHandle(open, () => removeKeys(prefix))
  }
}
