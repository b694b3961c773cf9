import type { Config } from '../config.js'
import type { Engine } from '../core/engine.js'
import type { Namespaces } from '../core/namespaces.js'
import { MemoryEngine } from './memory.js'
import { isRedisUrl } from './redis/connection.js'
import { RedisEngine } from './redis/engine.js'
import { SqliteEngine } from './sqlite/engine.js'

/** The engine the configuration names. */
export function createEngine(config: Config, namespaces: Namespaces): Engine {
  const idempotencyWindowMs = config.idempotencyWindowMs
  if (config.engine === 'memory') {
    return new MemoryEngine({
      settingsFor: (c) => namespaces.settingsFor(c),
      idempotencyWindowMs,
      jobRetentionMs: config.jobs.retentionMs,
    })
  }
  if (isRedisUrl(config.engine)) {
    return new RedisEngine({
      url: config.engine,
      prefix: config.redisPrefix,
      fsync: config.fsync,
      presenceTtlMs: config.push.presenceTtlMs,
      settingsFor: (c) => namespaces.settingsFor(c),
      idempotencyWindowMs,
      jobRetentionMs: config.jobs.retentionMs,
      warn: (message) =>
        process.stderr.write(`${JSON.stringify({ level: 40, time: Date.now(), msg: message })}\n`),
    })
  }
  return new SqliteEngine({
    dataDir: config.dataDir,
    fsync: config.fsync,
    namespaces,
    idempotencyWindowMs,
    jobRetentionMs: config.jobs.retentionMs,
  })
}
