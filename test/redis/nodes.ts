import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { freePort, type ServerProcess, spawnServer } from '../helpers/process.js'
import { tempDir } from '../helpers/tmp.js'
import { waitUntil } from '../helpers/wait.js'

/** `count` switchboard processes on one Redis and one fresh key prefix. */
export async function startNodes(
  count: number,
  url = 'redis://127.0.0.1:6379',
  extra: string[] = [],
): Promise<{ nodes: ServerProcess[]; prefix: string; stop: () => Promise<void> }> {
  const prefix = `sbtest:${randomUUID()}:`
  const nodes = await Promise.all(
    Array.from({ length: count }, () =>
      spawnServer(['--engine', url, '--redis-prefix', prefix, '--fsync', 'os', ...extra]),
    ),
  )
  const stop = async () => {
    for (const node of nodes) if (node.child.exitCode === null) node.child.kill('SIGKILL')
    await Promise.all(nodes.map((node) => node.exited))
    if (url.startsWith('redis+cluster:')) return // a test's own cluster: its keys go with it
    const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
    try {
      const keys = await admin.keys(`${prefix}*`)
      if (keys.length > 0) await admin.del(...keys)
    } catch {
      // The test's own Redis may be gone already.
    } finally {
      admin.disconnect()
    }
  }
  return { nodes, prefix, stop }
}

/**
 * A redis-server of the test's own, on a free port, AOF fsync on every write (or no AOF); killed by
 * PID. With `clusterPort` it is a Redis Cluster node (its bus on that port), not yet in a cluster.
 */
export class OwnRedis {
  readonly port: number
  readonly #dir = tempDir()
  readonly #aof: boolean
  readonly #clusterPort: number | undefined
  #child: ChildProcess | undefined

  private constructor(port: number, aof: boolean, clusterPort: number | undefined) {
    this.port = port
    this.#aof = aof
    this.#clusterPort = clusterPort
  }

  static async start({ aof = true, cluster = false } = {}): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), aof, cluster ? await freePort() : undefined)
    await redis.resume()
    return redis
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Starts (again) on the same port and directory: the AOF brings back what was acknowledged. */
  async resume(): Promise<void> {
    this.#child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--appendonly',
        this.#aof ? 'yes' : 'no',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--dir',
        this.#dir.path,
        ...(this.#clusterPort === undefined
          ? []
          : ['--cluster-enabled', 'yes', '--cluster-port', String(this.#clusterPort)]),
      ],
      { stdio: 'ignore' },
    )
    const probe = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    probe.on('error', () => undefined)
    await waitUntil(
      async () => {
        try {
          if (probe.status !== 'ready') await probe.connect()
          return (await probe.ping()) === 'PONG'
        } catch {
          probe.disconnect()
          return false
        }
      },
      { timeoutMs: 10_000, everyMs: 50, what: 'redis-server to answer' },
    )
    probe.disconnect()
  }

  /** kill -9: no shutdown save, only what the AOF already holds survives. */
  async kill(): Promise<void> {
    const child = this.#child
    if (!child || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }

  async remove(): Promise<void> {
    await this.kill()
    this.#dir.remove()
  }

  /** The cluster bus port (Cluster nodes only). */
  get clusterPort(): number {
    if (this.#clusterPort === undefined) throw new Error('not a cluster node')
    return this.#clusterPort
  }
}

/** A Redis Cluster of `size` masters of the test's own, the slots split evenly; `url` is its seed list. */
export async function startRedisCluster(size = 3): Promise<{ url: string; remove: () => Promise<void> }> {
  const nodes = await Promise.all(
    Array.from({ length: size }, () => OwnRedis.start({ aof: false, cluster: true })),
  )
  const admins = nodes.map((node) => new Redis(node.url, { maxRetriesPerRequest: 1 }))
  try {
    const slots = 16384
    await Promise.all(
      admins.map((admin, i) =>
        admin.call(
          'CLUSTER',
          'ADDSLOTSRANGE',
          String(Math.floor((slots * i) / size)),
          String(Math.floor((slots * (i + 1)) / size) - 1),
        ),
      ),
    )
    for (const node of nodes.slice(1)) {
      await admins[0].call('CLUSTER', 'MEET', '127.0.0.1', String(node.port), String(node.clusterPort))
    }
    await waitUntil(
      async () => {
        const infos = await Promise.all(
          admins.map((admin) => admin.call('CLUSTER', 'INFO') as Promise<string>),
        )
        return infos.every(
          (info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${size}`),
        )
      },
      { timeoutMs: 15_000, everyMs: 50, what: 'the Redis Cluster to form' },
    )
  } finally {
    for (const admin of admins) admin.disconnect()
  }
  return {
    url: `redis+cluster://${nodes.map((node) => `127.0.0.1:${node.port}`).join(',')}`,
    remove: async () => {
      await Promise.all(nodes.map((node) => node.remove()))
    },
  }
}
