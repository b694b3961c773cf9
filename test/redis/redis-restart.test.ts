import { afterAll, describe, expect, it } from 'vitest'
import { call } from '../helpers/http.js'
import { redisAvailable } from '../helpers/redis.js'
import { waitUntil } from '../helpers/wait.js'
import { OwnRedis, startNodes } from './nodes.js'

interface Polled {
  messages: { offset: number; data: { p: number; i: number } }[]
  next: number
}

const CHANNEL = 'multi:restart'

if (await redisAvailable()) {
  describe('Redis restarted during load', () => {
    let redis: OwnRedis | undefined
    let stop: () => Promise<void> = async () => undefined
    afterAll(async () => {
      await stop()
      await redis?.remove()
    })

    it('nodes answer 503 meanwhile, recover by themselves, and lose nothing acknowledged', async () => {
      redis = await OwnRedis.start()
      const started = await startNodes(2, redis.url)
      stop = started.stop
      const [a, b] = started.nodes
      const acknowledged = new Map<string, number>()
      const statuses = new Set<number>()
      let redisDown = false
      let sawDown = 0

      // A held long poll on B must stay open through the outage and be answered after it.
      const held = call<Polled>(`${b.url}/v1/channels/multi:held/messages?after=0&wait=30`)

      const publisher = async (p: number, until: () => boolean) => {
        let i = 0
        while (!until()) {
          const node = p === 0 ? a : b
          const answer = await call<{ offset: number }>(`${node.url}/v1/channels/${CHANNEL}/messages`, {
            method: 'POST',
            body: JSON.stringify({ p, i }),
            headers: { 'content-type': 'application/json', 'idempotency-key': `p${p}-${i}` },
          })
          statuses.add(answer.status)
          if (answer.status === 201) {
            acknowledged.set(`${p}:${i}`, answer.body.offset)
            i += 1
          } else {
            expect(answer.status).toBe(503)
            expect(answer.headers['content-type']).toMatch(/problem\+json/)
            expect((answer.body as unknown as { code: string }).code).toBe('engine_unavailable')
            if (redisDown) sawDown += 1
            await new Promise((resolve) => setImmediate(resolve))
          }
        }
      }

      let finished = false
      const publishers = [0, 1].map((p) => publisher(p, () => finished))
      await waitUntil(() => acknowledged.size >= 50, { timeoutMs: 10_000, what: 'load before the outage' })
      redisDown = true
      await redis.kill()
      await waitUntil(() => sawDown >= 10, { timeoutMs: 10_000, what: '503 answers while Redis is down' })
      const ready = await call(`${a.url}/readyz`)
      expect(ready.status).toBe(503)
      const before = acknowledged.size
      await redis.resume()
      redisDown = false
      await waitUntil(() => acknowledged.size >= before + 50, {
        timeoutMs: 15_000,
        what: 'writes after Redis returns',
      })
      finished = true
      await Promise.all(publishers)
      expect((await call(`${a.url}/readyz`)).status).toBe(200)
      expect(statuses).toEqual(new Set([201, 503]))

      const stored: Polled['messages'] = []
      let after = 0
      for (;;) {
        const page = await call<Polled>(`${a.url}/v1/channels/${CHANNEL}/messages?after=${after}&limit=1000`)
        if (page.body.messages.length === 0) break
        stored.push(...page.body.messages)
        after = page.body.next
      }
      const byKey = new Map(stored.map((m) => [`${m.data.p}:${m.data.i}`, m.offset]))
      for (const [key, offset] of acknowledged) expect(byKey.get(key)).toBe(offset)
      expect(stored.map((m) => m.offset)).toEqual(Array.from({ length: stored.length }, (_, k) => k + 1))

      // The long poll held on B through the outage is still open, and a publish on A wakes it.
      const woken = await call(`${a.url}/v1/channels/multi:held/messages`, {
        method: 'POST',
        body: JSON.stringify('after the outage'),
        headers: { 'content-type': 'application/json' },
      })
      expect(woken.status).toBe(201)
      const answer = await held
      expect(answer.body.messages.map((m) => m.data)).toEqual(['after the outage'])
    }, 60_000)
  })
}
