import cluster from 'node:cluster'
import type { Config } from '../config.js'
import { isRedisUrl } from '../engine/redis/connection.js'

/** Why `--workers N` cannot run with this engine, if it cannot. */
export function workersRefusal(config: Config): string | undefined {
  if (config.workers <= 1 || isRedisUrl(config.engine)) return undefined
  if (config.engine === 'sqlite') {
    return `--workers ${config.workers} needs a shared engine: the SQLite file has a single writer process. Use --engine redis://… or --workers 1`
  }
  return `--workers ${config.workers} needs a shared engine: each process would have its own memory engine. Use --engine redis://… or --workers 1`
}

/**
 * The primary of `serve --workers N`: forks N processes that share the listening ports (node:cluster
 * hands connections to them), replaces one that dies, and on SIGTERM/SIGINT lets each drain.
 */
export function runPrimary(config: Config): void {
  let stopping = false
  const fork = () => cluster.fork()
  for (let i = 0; i < config.workers; i++) fork()
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
      return
    }
    process.stderr.write(
      `switchboard: worker ${worker.process.pid} ended (${signal ?? code}); starting another\n`,
    )
    fork()
  })
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    const workers = Object.values(cluster.workers ?? {})
    if (workers.length === 0) process.exit(0)
    for (const worker of workers) worker?.process.kill(signal)
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}
