import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { call } from '../helpers/http.js'
import { redisAvailable } from '../helpers/redis.js'
import { tempDir } from '../helpers/tmp.js'
import { waitUntil } from '../helpers/wait.js'
import { type Frame, WsClient } from '../helpers/ws.js'
import { startNodes } from './nodes.js'

interface Members {
  clients: { client: string; connections: number }[]
}

const TTL_MS = 600

if (await redisAvailable()) {
  describe('presence across nodes', () => {
    const closers: (() => unknown)[] = []
    afterAll(async () => {
      for (const close of closers.reverse()) await close()
    })

    it('lists every node’s clients, announces each join and leave once, and lets a dead node’s clients go', async () => {
      const dir = tempDir()
      closers.push(dir.remove)
      const config = join(dir.path, 'config.json')
      writeFileSync(config, JSON.stringify({ namespaces: [{ pattern: 'room:*', presence: true }] }))
      const started = await startNodes(3, undefined, [
        '--config',
        config,
        '--presence-ttl-ms',
        String(TTL_MS),
      ])
      closers.push(started.stop)
      const [a, b, c] = started.nodes
      const open = async (url: string, client: string) => {
        const ws = await WsClient.open(url, 'switchboard.v1.json', `?client=${client}`)
        closers.push(() => ws.close())
        return ws
      }
      const observer = await open(c.url, 'observer')
      await observer.request({ op: 'sub', channel: '$presence:room:x', after: 0 })
      const events = () =>
        observer.messages('$presence:room:x').map((f: Frame) => {
          const data = f.data as { event: string; client: string }
          return `${data.event} ${data.client}`
        })
      const members = async () =>
        (await call<Members>(`${c.url}/v1/channels/room:x/presence`)).body.clients
          .map((m) => `${m.client}×${m.connections}`)
          .sort()

      const alice = await open(a.url, 'alice')
      await alice.request({ op: 'sub', channel: 'room:x' })
      await observer.until(() => (events().length === 1 ? true : undefined))
      const bob = await open(b.url, 'bob')
      await bob.request({ op: 'sub', channel: 'room:x' })
      // Alice's second tab lands on node B: the same member, no second join.
      const aliceAgain = await open(b.url, 'alice')
      await aliceAgain.request({ op: 'sub', channel: 'room:x' })
      await observer.until(() => (events().length === 2 ? true : undefined))
      await waitUntil(async () => (await members()).join() === 'alice×2,bob×1', {
        what: 'both members, from node C',
      })
      expect(events()).toEqual(['join alice', 'join bob'])

      // Node B dies: bob leaves once its entries expire; alice stays, through node A.
      b.child.kill('SIGKILL')
      await observer.until(() => (events().length === 3 ? true : undefined), 10_000)
      expect(events()[2]).toBe('leave bob')
      await waitUntil(async () => (await members()).join() === 'alice×1', { what: 'alice alone' })

      alice.close()
      await observer.until(() => (events().length === 4 ? true : undefined))
      expect(events()).toEqual(['join alice', 'join bob', 'leave bob', 'leave alice'])
      expect(await members()).toEqual([])
    }, 30_000)
  })
}
