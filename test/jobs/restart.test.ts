import { afterEach, describe, expect, it } from 'vitest'
import { type ServerProcess, spawnServer } from '../helpers/process.js'
import { tempDir } from '../helpers/tmp.js'
import { jobsApi } from './api.js'

const dirs: { remove(): void }[] = []
const servers: ServerProcess[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.child.kill('SIGKILL')
    await s.exited
  }
  for (const d of dirs.splice(0)) d.remove()
})

async function serve(dir: string, fsync: string): Promise<ServerProcess> {
  const server = await spawnServer(['--data-dir', dir, '--fsync', fsync])
  servers.push(server)
  return server
}

async function stop(server: ServerProcess, how: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  server.child.kill(how)
  expect(await server.exited).toBe(how === 'SIGTERM' ? 0 : 'SIGKILL')
  servers.splice(servers.indexOf(server), 1)
}

describe.each([
  ['SIGTERM', 'always'],
  ['SIGKILL', 'always'],
  ['SIGKILL', 'os'],
] as const)('jobs across a restart (%s, fsync=%s)', (how, fsync) => {
  it('keeps handles, gives an active job back after its lease, and loses nothing acknowledged', async () => {
    const dir = tempDir('switchboard-jobs-')
    dirs.push(dir)
    let server = await serve(dir.path, fsync)
    let api = jobsApi(server.url)
    const waiting = (await api.submit('restart', { data: 'before claim' })).body
    const later = (await api.submit('restart-later', { data: 'delayed', delay_ms: 1500 })).body
    // fsync=os survives a process crash too: the OS holds the writes; only power loss could lose them.
    await stop(server, how)

    server = await serve(dir.path, fsync)
    api = jobsApi(server.url)
    expect((await api.get(waiting.id)).body).toMatchObject({ state: 'queued', data: 'before claim' })
    const first = (await api.claim('restart', 1, 800)).body
    expect(first).toMatchObject({ id: waiting.id, attempts: 1 })
    await api.progress(first.id, first.lease as string, 10)
    await stop(server, how)

    server = await serve(dir.path, fsync)
    api = jobsApi(server.url)
    // Still active, or already back in its queue if the restart outlasted the lease.
    const resolved = (await api.get(first.id)).body
    expect(resolved).toMatchObject({ progress: 10, attempts: 1 })
    expect(['active', 'queued']).toContain(resolved.state)
    // The lease ran out while no server was up, or runs out now: the job comes back.
    const second = (await api.claim('restart', 5, 5000)).body
    expect(second).toMatchObject({ id: waiting.id, attempts: 2 })
    expect((await api.complete(second.id, second.lease as string, 'done')).status).toBe(200)
    expect((await api.get(second.id, 1)).body).toMatchObject({
      state: 'succeeded',
      result: 'done',
      attempts: 2,
    })
    // The delayed job survived too, and fires.
    const fired = (await api.claim('restart-later', 5)).body
    expect(fired).toMatchObject({ id: later.id, data: 'delayed' })
  }, 40_000)
})
