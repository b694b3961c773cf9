import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'

export type RedisClient = Redis | Cluster

/** `redis://`, `rediss://`, `redis+sentinel://h1:p1,h2:p2/master` or `redis+cluster://h1:p1,h2:p2`. */
export function isRedisUrl(engine: string): boolean {
  return /^(redis|rediss|redis\+sentinel|redis\+cluster):\/\//.test(engine)
}

/**
 * Fail fast: no offline queue and no retry of a command whose connection dropped, so a lost Redis
 * answers at once (503) instead of piling commands up in memory; the connection itself reconnects
 * in the background. Auto-pipelining batches the commands issued in one tick into one write.
 */
const FAIL_FAST: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  enableAutoPipelining: true,
  retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
  connectTimeout: 2000,
}

/** A client for the URL; `subscriber` connections keep an offline queue for (re)subscribing. */
export function connect(url: string, subscriber = false): RedisClient {
  const options: RedisOptions = subscriber
    ? { ...FAIL_FAST, enableOfflineQueue: true, enableAutoPipelining: false, maxRetriesPerRequest: null }
    : FAIL_FAST
  const parsed = parseRedisUrl(url)
  const hosts = parsed.hosts
  const auth = { username: parsed.username, password: parsed.password }
  if (parsed.scheme === 'redis+cluster') {
    const clusterOptions: ClusterOptions = {
      redisOptions: { ...options, ...auth },
      enableOfflineQueue: options.enableOfflineQueue,
      enableAutoPipelining: options.enableAutoPipelining,
      clusterRetryStrategy: (attempt) => Math.min(50 * attempt, 1000),
    }
    return new Cluster(hosts, clusterOptions)
  }
  if (parsed.scheme === 'redis+sentinel') {
    const name = parsed.path || 'mymaster'
    // Told of a fail-over by the Sentinels (`+switch-master`), not only once the old master drops
    // the connection: until it is demoted it still takes writes the new master never sees.
    return new Redis({ ...options, ...auth, sentinels: hosts, name, failoverDetector: true })
  }
  return new Redis(url, options)
}

export interface RedisUrl {
  readonly scheme: string
  readonly username: string | undefined
  readonly password: string | undefined
  readonly hosts: { host: string; port: number }[]
  /** After the first `/`: the database number, or the sentinel master's name. */
  readonly path: string
}

/** A Redis URL that may list several `host:port` pairs (WHATWG URL parsing refuses those). */
export function parseRedisUrl(url: string): RedisUrl {
  const match = /^([a-z+]+):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/]*)(?:\/(.*))?$/.exec(url)
  if (!match) throw new Error(`not a Redis URL: ${url}`)
  const [, scheme, user, pass, hostList, path] = match
  const hosts = hostList.split(',').map((hostPort) => {
    const colon = hostPort.lastIndexOf(':')
    const host = colon === -1 ? hostPort : hostPort.slice(0, colon)
    const port = colon === -1 ? 6379 : Number(hostPort.slice(colon + 1))
    return { host: host || '127.0.0.1', port }
  })
  const decode = (part: string | undefined) => (part ? decodeURIComponent(part) : undefined)
  return { scheme, username: decode(user), password: decode(pass), hosts, path: path ?? '' }
}
