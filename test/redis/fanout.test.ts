import { EventSource } from 'eventsource'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, postJson } from '../helpers/http.js'
import type { ServerProcess } from '../helpers/process.js'
import { redisAvailable } from '../helpers/redis.js'
import { waitUntil } from '../helpers/wait.js'
import { WsClient } from '../helpers/ws.js'
import { startNodes } from './nodes.js'

interface Polled {
  messages: { offset: number; data: unknown }[]
  next: number
}

if (await redisAvailable()) {
  describe('three nodes on one Redis', () => {
    let nodes: ServerProcess[] = []
    let stop: () => Promise<void> = async () => undefined
    beforeAll(async () => {
      ;({ nodes, stop } = await startNodes(3))
    }, 30_000)
    afterAll(() => stop())

    it('a publish on node A wakes long polls held on nodes B and C at once', async () => {
      const [a, b, c] = nodes
      const polls = [b, c].map((node) =>
        call<Polled>(`${node.url}/v1/channels/multi:lp/messages?after=0&wait=10`),
      )
      // Both polls are held before the publish: the wake-up comes from the cross-node notification.
      await waitUntil(
        async () => {
          const stats = await Promise.all(
            [b, c].map((n) => call<{ long_polls: number }>(`${n.url}/v1/stats`)),
          )
          return stats.every((s) => s.body.long_polls === 1)
        },
        { what: 'both long polls held' },
      )
      const started = Date.now()
      const published = await postJson(`${a.url}/v1/channels/multi:lp/messages`, { hello: 'from A' })
      expect(published.status).toBe(201)
      for (const answer of await Promise.all(polls)) {
        expect(answer.status).toBe(200)
        expect(answer.body.messages.map((m) => [m.offset, m.data])).toEqual([[1, { hello: 'from A' }]])
      }
      expect(Date.now() - started).toBeLessThan(2000)
    })

    it('SSE and WebSocket subscribers on B and C receive what A publishes, in order', async () => {
      const [a, b, c] = nodes
      const sse: number[][] = [[], []]
      const sources = [b, c].map((node, k) => {
        const source = new EventSource(`${node.url}/v1/events?channel=multi:push&after=0`)
        source.addEventListener('message', (event) => sse[k].push(JSON.parse(event.data).offset))
        return source
      })
      const sockets = await Promise.all([b, c].map((node) => WsClient.open(node.url)))
      try {
        for (const ws of sockets) {
          expect(await ws.request({ op: 'sub', channel: 'multi:push', after: 0 })).toMatchObject({ op: 'ok' })
        }
        for (let i = 0; i < 20; i++) {
          expect((await postJson(`${a.url}/v1/channels/multi:push/messages`, { i })).status).toBe(201)
        }
        const all = Array.from({ length: 20 }, (_, i) => i + 1)
        await waitUntil(() => sse.every((seen) => seen.length >= 20), { what: 'SSE on B and C' })
        await waitUntil(() => sockets.every((ws) => ws.messages('multi:push').length >= 20), {
          what: 'WebSocket on B and C',
        })
        for (const seen of sse) expect(seen).toEqual(all)
        for (const ws of sockets) expect(ws.messages('multi:push').map((f) => f.offset)).toEqual(all)
      } finally {
        for (const source of sources) source.close()
        for (const ws of sockets) ws.close()
      }
    })
  })
}
