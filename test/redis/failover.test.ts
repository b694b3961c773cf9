import { afterAll, describe, expect, it } from 'vitest'
import { call } from '../helpers/http.js'
import type { ServerProcess } from '../helpers/process.js'
import { redisAvailable } from '../helpers/redis.js'
import { waitUntil } from '../helpers/wait.js'
import { startNodes } from './nodes.js'

interface Polled {
  messages: { offset: number; data: { p: number; i: number } }[]
  next: number
}

const CHANNEL = 'multi:failover'
const PER_PUBLISHER = 120

/** The next node after `index` that still runs. */
function alive(nodes: ServerProcess[], index: number): number {
  for (let k = 1; k <= nodes.length; k++) {
    const next = (index + k) % nodes.length
    if (nodes[next].child.exitCode === null && nodes[next].child.signalCode === null) return next
  }
  throw new Error('no node left')
}

if (await redisAvailable()) {
  describe('kill -9 of one node during publish load', () => {
    let stop: () => Promise<void> = async () => undefined
    afterAll(() => stop())

    it('its clients go on elsewhere from their offsets: no gap, no duplicate, every ack stored once', async () => {
      const started = await startNodes(3)
      stop = started.stop
      const { nodes } = started
      const acknowledged = new Map<string, number>()
      let done = false

      const publisher = async (p: number) => {
        let home = p
        for (let i = 0; i < PER_PUBLISHER; i++) {
          for (;;) {
            try {
              const answer = await call<{ offset: number }>(
                `${nodes[home].url}/v1/channels/${CHANNEL}/messages`,
                {
                  method: 'POST',
                  body: JSON.stringify({ p, i }),
                  headers: { 'content-type': 'application/json', 'idempotency-key': `p${p}-${i}` },
                },
              )
              if (answer.status === 201) {
                acknowledged.set(`${p}:${i}`, answer.body.offset)
                break
              }
            } catch {
              // The node died under the request: same key, another node.
            }
            home = alive(nodes, home)
          }
        }
      }

      const subscriber = async (s: number) => {
        let home = s
        let after = 0
        const seen: number[] = []
        while (!done || seen.length < acknowledged.size) {
          try {
            const answer = await call<Polled>(
              `${nodes[home].url}/v1/channels/${CHANNEL}/messages?after=${after}&limit=1000&wait=1`,
            )
            if (answer.status !== 200) throw new Error(`status ${answer.status}`)
            seen.push(...answer.body.messages.map((m) => m.offset))
            after = answer.body.next
          } catch {
            home = alive(nodes, home)
          }
        }
        return seen
      }

      const subscribers = [0, 1, 2].map(subscriber)
      const publishers = [0, 1, 2].map(publisher)
      await waitUntil(() => acknowledged.size >= 60, { timeoutMs: 20_000, what: 'load before the kill' })
      nodes[2].child.kill('SIGKILL')
      await nodes[2].exited
      await Promise.all(publishers)
      done = true
      const seen = await Promise.all(subscribers)

      const total = 3 * PER_PUBLISHER
      expect(acknowledged.size).toBe(total)
      const all = Array.from({ length: total }, (_, k) => k + 1)
      for (const offsets of seen) expect(offsets).toEqual(all)
      const stored = await call<Polled>(`${nodes[0].url}/v1/channels/${CHANNEL}/messages?after=0&limit=1000`)
      expect(stored.body.messages.map((m) => m.offset)).toEqual(all)
      const byKey = new Map(stored.body.messages.map((m) => [`${m.data.p}:${m.data.i}`, m.offset]))
      expect(byKey.size).toBe(total)
      for (const [key, offset] of acknowledged) expect(byKey.get(key)).toBe(offset)
    }, 60_000)
  })
}
