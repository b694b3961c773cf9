import { writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { postJson } from '../helpers/http.js'
import { spawnServer } from '../helpers/process.js'
import { tempDir } from '../helpers/tmp.js'
import { waitUntil } from '../helpers/wait.js'
import { Receiver, range, verifySignature } from './receiver.js'

const SECRET = 'crash-secret-0123456789'

describe('webhooks across a crash', () => {
  it('resumes after kill -9 from the stored cursor: everything delivered, few duplicates', async () => {
    const dir = tempDir()
    const receiver = await new Receiver().start(0)
    try {
      const file = `${dir.path}/config.json`
      writeFileSync(
        file,
        JSON.stringify({
          namespaces: [
            { pattern: 'crash:*', webhook: { url: receiver.url, secret: SECRET, maxBackoffMs: 50 } },
          ],
        }),
      )
      const args = ['--data-dir', dir.path, '--config', file]
      const first = await spawnServer(args)
      const messages = range(1, 300).map((n) => ({ channel: 'crash:a', data: { n } }))
      expect((await postJson(`${first.url}/v1/publish`, { messages })).status).toBe(201)
      await waitUntil(() => receiver.delivered('crash:a').length >= 100, { what: '100 deliveries' })
      first.child.kill('SIGKILL')
      await first.exited
      const before = receiver.delivered('crash:a').length
      expect(before).toBeLessThan(300)

      const second = await spawnServer(args)
      try {
        await waitUntil(() => new Set(receiver.delivered('crash:a')).size === 300, { what: 'all 300' })
        const offsets = receiver.delivered('crash:a')
        // In order up to the crash, then in order again from the stored cursor (at most a rewind).
        const rewind = offsets.findIndex((offset, i) => i > 0 && offset <= offsets[i - 1])
        const head = rewind === -1 ? offsets : offsets.slice(0, rewind)
        const tail = rewind === -1 ? [] : offsets.slice(rewind)
        expect(head).toEqual(range(1, head.length))
        expect(tail).toEqual(tail.length > 0 ? range(tail[0], 300) : [])
        const duplicates = offsets.length - 300
        expect(duplicates).toBeLessThan(50)
        expect(receiver.requests.every((d) => verifySignature(d, SECRET))).toBe(true)
      } finally {
        second.child.kill('SIGTERM')
        await second.exited
      }
    } finally {
      await receiver.stop()
      dir.remove()
    }
  })
})
