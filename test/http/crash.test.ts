import { Agent, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import type { WireMessage } from '../../src/protocol/message-json.js'
import { call } from '../helpers/http.js'
import { type ServerProcess, spawnServer } from '../helpers/process.js'
import { tempDir } from '../helpers/tmp.js'
import { waitUntil } from '../helpers/wait.js'

const PUBLISHERS = 16
const CHANNELS = ['crash-a', 'crash-b', 'crash-c']

describe.each(['always', 'os'] as const)('kill -9 while publishing (fsync=%s)', (fsync) => {
  const dir = tempDir()
  let proc: ServerProcess | undefined
  afterEach(() => {
    proc?.child.kill('SIGKILL')
    dir.remove()
  })

  it('keeps every acknowledged message exactly once, at its offset, with no gaps', async () => {
    proc = await spawnServer(['--data-dir', dir.path, '--fsync', fsync])
    const agent = new Agent({ connections: PUBLISHERS })
    const acked = new Map<string, { offset: number; id: string; body: string }[]>(
      CHANNELS.map((c) => [c, []]),
    )
    let stop = false
    const publisher = async (n: number) => {
      for (let i = 0; !stop && i < 100_000; i++) {
        const channel = CHANNELS[(n + i) % CHANNELS.length]
        const body = JSON.stringify({ publisher: n, seq: i })
        try {
          const res = await request(`${proc!.url}/v1/channels/${channel}/messages`, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/json' },
            dispatcher: agent,
          })
          const text = await res.body.text()
          if (res.statusCode === 201) {
            const { offset, id } = JSON.parse(text) as { offset: number; id: string }
            acked.get(channel)!.push({ offset, id, body })
          }
        } catch {
          return // the server died under us: this publish was not acknowledged
        }
      }
    }
    const running = Array.from({ length: PUBLISHERS }, (_, n) => publisher(n))
    await waitUntil(() => [...acked.values()].reduce((s, a) => s + a.length, 0) >= 1500, {
      timeoutMs: 30_000,
      what: '1,500 acknowledged publishes',
    })
    proc.child.kill('SIGKILL')
    await proc.exited
    stop = true
    await Promise.all(running)
    await agent.close()

    proc = await spawnServer(['--data-dir', dir.path, '--fsync', fsync])
    for (const channel of CHANNELS) {
      const stored: WireMessage[] = []
      for (let after = 0; ; ) {
        const page = await call<{ messages: WireMessage[]; next: number }>(
          `${proc.url}/v1/channels/${channel}/messages?after=${after}&limit=1000`,
        )
        if (page.body.messages.length === 0) break
        stored.push(...page.body.messages)
        after = page.body.next
      }
      expect(stored.map((m) => m.offset)).toEqual(stored.map((_, i) => i + 1))
      expect(new Set(stored.map((m) => m.id)).size).toBe(stored.length)
      for (const ack of acked.get(channel)!) {
        const m = stored[ack.offset - 1]
        expect(m, `acknowledged offset ${ack.offset} of ${channel}`).toBeDefined()
        expect(m.id).toBe(ack.id)
        expect(JSON.stringify(m.data)).toBe(ack.body)
      }
      expect(acked.get(channel)!.length).toBeGreaterThan(0)
    }
  })
})
