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

/** A redis-server of the test's own, on a free port, AOF fsync on every write (or no AOF); killed by PID. */
export class OwnRedis {
  readonly port: number
  readonly #dir = tempDir()
  readonly #aof: boolean
  #child: ChildProcess | undefined

  private constructor(port: number, aof: boolean) {
    this.port = port
    this.#aof = aof
  }

  static async start({ aof = true } = {}): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), aof)
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
}
