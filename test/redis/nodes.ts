import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
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
  readonly #args: string[]
  #child: ChildProcess | undefined

  private constructor(port: number, aof: boolean, clusterPort: number | undefined, args: string[]) {
    this.port = port
    this.#aof = aof
    this.#clusterPort = clusterPort
    this.#args = args
  }

  /** `args` go to redis-server as they are (`--replicaof host port`, say). */
  static async start({ aof = true, cluster = false, args = [] as string[] } = {}): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), aof, cluster ? await freePort() : undefined, args)
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
        ...this.#args,
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

/**
 * A master, a replica of it and one Sentinel watching them as `mymaster`, all the test's own;
 * `url` is the Sentinel address for the engine, `failover` makes the replica the master.
 */
export async function startSentinelGroup(): Promise<{
  url: string
  master: OwnRedis
  replica: OwnRedis
  masterPort: () => Promise<number>
  failover: () => Promise<void>
  remove: () => Promise<void>
}> {
  const master = await OwnRedis.start({ aof: false })
  const replica = await OwnRedis.start({
    aof: false,
    args: ['--replicaof', '127.0.0.1', String(master.port)],
  })
  const port = await freePort()
  const dir = tempDir()
  const conf = `${dir.path}/sentinel.conf`
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir.path}`,
      `sentinel monitor mymaster 127.0.0.1 ${master.port} 1`,
      'sentinel down-after-milliseconds mymaster 1000',
      'sentinel failover-timeout mymaster 5000',
      '',
    ].join('\n'),
  )
  const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' })
  const sentinel = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 100,
  })
  sentinel.on('error', () => undefined)
  const masterPort = async () => {
    const [, at] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'mymaster')) as [
      string,
      string,
    ]
    return Number(at)
  }
  await waitUntil(
    async () => {
      try {
        if (sentinel.status !== 'ready') await sentinel.connect()
        const replicas = (await sentinel.call('SENTINEL', 'replicas', 'mymaster')) as unknown[]
        return (await masterPort()) === master.port && replicas.length === 1
      } catch {
        return false
      }
    },
    { timeoutMs: 20_000, everyMs: 100, what: 'the Sentinel to know the master and its replica' },
  )
  return {
    url: `redis+sentinel://127.0.0.1:${port}/mymaster`,
    master,
    replica,
    masterPort,
    failover: async () => {
      // A planned fail-over: the replica has everything the master acknowledged first.
      const replication = async (redis: OwnRedis) => {
        const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 })
        try {
          return await admin.info('replication')
        } finally {
          admin.disconnect()
        }
      }
      const offsetOf = async (redis: OwnRedis) =>
        Number(/master_repl_offset:(\d+)/.exec(await replication(redis))?.[1])
      const written = await offsetOf(master)
      await waitUntil(async () => (await offsetOf(replica)) >= written, {
        timeoutMs: 10_000,
        what: 'the replica to catch up',
      })
      await sentinel.call('SENTINEL', 'FAILOVER', 'mymaster')
      await waitUntil(async () => (await masterPort()) === replica.port, {
        timeoutMs: 20_000,
        everyMs: 100,
        what: 'the replica to be the master',
      })
      // Until the old master follows the new one, it still takes the writes of a client that has
      // not switched yet (Redis's own window: those writes are lost).
      await waitUntil(async () => (await replication(master)).includes('role:slave'), {
        timeoutMs: 30_000,
        everyMs: 100,
        what: 'the old master to follow the new one',
      })
    },
    remove: async () => {
      sentinel.disconnect()
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
      await Promise.all([master.remove(), replica.remove()])
      dir.remove()
    },
  }
}
