import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { call, postJson } from '../helpers/http.js'
import { runCli, type ServerProcess, spawnServer } from '../helpers/process.js'
import { redisAvailable } from '../helpers/redis.js'
import { tempDir } from '../helpers/tmp.js'
import { waitUntil } from '../helpers/wait.js'

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0)
  } catch {
    return []
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('serve --workers N', () => {
  it('refuses more than one worker on SQLite, with a clear reason', async () => {
    const dir = tempDir()
    try {
      const { code, stderr } = await runCli([
        'serve',
        '--workers',
        '2',
        '--data-dir',
        dir.path,
        '--port',
        '0',
      ])
      expect(code).toBe(2)
      expect(stderr).toMatch(/--workers 2 needs a shared engine: the SQLite file has a single writer/)
    } finally {
      dir.remove()
    }
  })
})

if (await redisAvailable()) {
  describe('serve --workers N on Redis', () => {
    let server: ServerProcess | undefined
    afterAll(async () => {
      if (server && server.child.exitCode === null) server.child.kill('SIGKILL')
    })

    it('runs N processes on one port; long polls on any of them wake for a publish on any', async () => {
      const prefix = `sbtest:${randomUUID()}:`
      server = await spawnServer([
        '--engine',
        'redis://127.0.0.1:6379',
        '--redis-prefix',
        prefix,
        '--workers',
        '2',
        '--fsync',
        'os',
      ])
      const pid = server.child.pid!
      await waitUntil(() => childrenOf(pid).length === 2, { what: 'two worker processes' })
      const workers = childrenOf(pid)
      // Every worker must listen: wait until each has answered (connections are spread round robin).
      await waitUntil(async () => (await call(`${server!.url}/readyz`)).status === 200, { what: 'ready' })
      const polls = Array.from({ length: 8 }, () =>
        call<{ messages: { data: unknown }[] }>(
          `${server!.url}/v1/channels/workers:lp/messages?after=0&wait=10`,
        ),
      )
      await waitUntil(
        async () => {
          const answers = await Promise.all(
            Array.from({ length: 4 }, () => call<{ long_polls: number }>(`${server!.url}/v1/stats`)),
          )
          return answers.reduce((sum, a) => Math.max(sum, a.body.long_polls), 0) > 0
        },
        { what: 'polls held' },
      )
      expect((await postJson(`${server.url}/v1/channels/workers:lp/messages`, 'hi')).status).toBe(201)
      for (const answer of await Promise.all(polls))
        expect(answer.body.messages.map((m) => m.data)).toEqual(['hi'])

      server.child.kill('SIGTERM')
      expect(await server.exited).toBe(0)
      await waitUntil(() => workers.every((w) => !isAlive(w)), { what: 'workers gone' })
    })
  })
}
