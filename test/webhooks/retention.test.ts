import { afterEach, describe, expect, it } from 'vitest'
import { postJson } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitUntil } from '../helpers/wait.js'
import { Receiver, range } from './receiver.js'

const SECRET = 'retention-secret-0123'

async function publish(server: TestServer, channel: string, count: number): Promise<void> {
  const messages = range(1, count).map((n) => ({ channel, data: n }))
  expect((await postJson(`${server.url}/v1/publish`, { messages })).status).toBe(201)
}

async function skipped(server: TestServer, pattern: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`switchboard_webhook_skipped_total{webhook="${pattern}"}`))
  return line ? Number(line.split(' ')[1]) : 0
}

async function lanes(server: TestServer): Promise<{ channel: string; consecutive_failures: number }[]> {
  const { webhooks } = (await (await fetch(`${server.url}/v1/webhooks`)).json()) as {
    webhooks: { channels: { channel: string; consecutive_failures: number }[] }[]
  }
  return webhooks.flatMap((w) => w.channels)
}

describe('webhooks and retention', () => {
  const receiver = new Receiver()
  let server: TestServer | undefined
  afterEach(async () => {
    await server?.stop()
    server = undefined
    await receiver.stop()
    receiver.requests.length = 0
  })

  it('counts messages retention removed before delivery and delivers what is left, in order', async () => {
    await receiver.start(0)
    await receiver.stop()
    server = await startTestServer({
      namespaces: [
        {
          pattern: 'kept:*',
          maxMessages: 3,
          webhook: { url: receiver.url, secret: SECRET, maxBackoffMs: 50 },
        },
        {
          pattern: 'aged:*',
          maxAgeMs: 100,
          webhook: { url: receiver.url, secret: SECRET, maxBackoffMs: 50 },
        },
      ],
    })
    await publish(server, 'kept:a', 10)
    // The first message is read and retried; the next three wait in the log, where age trims them.
    await publish(server, 'aged:a', 1)
    await waitUntil(
      async () => (await lanes(server!)).some((c) => c.channel === 'aged:a' && c.consecutive_failures > 0),
      {
        what: 'aged:a failing',
      },
    )
    await publish(server, 'aged:a', 3)
    await waitUntil(async () => (await server!.broker.info('aged:a'))?.messages === 0, { what: 'age trim' })
    await receiver.start()
    await waitUntil(() => receiver.delivered('kept:a').length === 3, { what: 'the kept messages' })
    expect(receiver.delivered('kept:a')).toEqual([8, 9, 10])
    await waitUntil(async () => (await skipped(server!, 'aged:*')) === 3, { what: 'aged skips counted' })
    expect(await skipped(server, 'kept:*')).toBe(7)
    expect(receiver.delivered('aged:a')).toEqual([1])
    const { webhooks } = (await (await fetch(`${server.url}/v1/webhooks`)).json()) as {
      webhooks: { pattern: string; lag: number; channels: { delivered_offset: number }[] }[]
    }
    expect(webhooks.map((w) => [w.pattern, w.lag, w.channels[0].delivered_offset])).toEqual([
      ['kept:*', 0, 10],
      ['aged:*', 0, 4],
    ])
  })
})
