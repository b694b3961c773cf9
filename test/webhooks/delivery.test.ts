import { afterEach, describe, expect, it } from 'vitest'
import type { ConfigInput } from '../../src/config.js'
import { call, postJson } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitUntil } from '../helpers/wait.js'
import { type Delivery, Receiver, range, verifySignature } from './receiver.js'

const SECRET = 'test-secret-0123456789'

function hooked(url: string, extra: Partial<ConfigInput> = {}): ConfigInput {
  return {
    namespaces: [{ pattern: 'hooks:*', webhook: { url, secret: SECRET, timeoutMs: 2000, maxBackoffMs: 50 } }],
    ...extra,
  }
}

async function publish(server: TestServer, channel: string, from: number, to: number): Promise<void> {
  const messages = range(from, to).map((n) => ({ channel, data: { n } }))
  const answer = await postJson(`${server.url}/v1/publish`, { messages })
  expect(answer.status).toBe(201)
}

describe('webhook delivery', () => {
  const receiver = new Receiver()
  let server: TestServer | undefined
  afterEach(async () => {
    receiver.respond = () => 204
    await server?.stop()
    server = undefined
    await receiver.stop()
    receiver.requests.length = 0
  })

  for (const engine of ['sqlite', 'memory'] as const) {
    it(`POSTs every message in offset order per channel, signed (${engine})`, async () => {
      await receiver.start(0)
      server = await startTestServer(hooked(receiver.url, { engine }))
      for (let round = 0; round < 4; round++) {
        for (const channel of ['hooks:a', 'hooks:b', 'hooks:c']) {
          await publish(server, channel, round * 5 + 1, round * 5 + 5)
        }
      }
      await postJson(`${server.url}/v1/publish`, { messages: [{ channel: 'plain', data: 1 }] })
      await waitUntil(() => receiver.requests.length === 60, { what: '60 deliveries' })
      for (const channel of ['hooks:a', 'hooks:b', 'hooks:c']) {
        expect(receiver.delivered(channel)).toEqual(range(1, 20))
      }
      for (const delivery of receiver.requests) {
        expect(verifySignature(delivery, SECRET)).toBe(true)
        expect(verifySignature(delivery, 'another-secret-0123456')).toBe(false)
        const message = JSON.parse(delivery.body)
        expect(message).toMatchObject({ channel: delivery.channel, offset: delivery.offset, id: delivery.id })
        expect(message.data).toEqual({ n: delivery.offset })
        expect(delivery.headers['content-type']).toBe('application/json')
        expect(delivery.headers['switchboard-attempt']).toBe('1')
        expect(delivery.headers['user-agent']).toBe('switchboard-webhooks/1')
      }
      expect(receiver.requests.some((d) => d.channel === 'plain')).toBe(false)
    })
  }

  it('delivers channels in parallel, at most 16 requests in flight, each channel in order', async () => {
    await receiver.start(0)
    let inFlight = 0
    let most = 0
    receiver.respond = async () => {
      inFlight += 1
      most = Math.max(most, inFlight)
      await new Promise((resolve) => setTimeout(resolve, 20))
      inFlight -= 1
      return 200
    }
    server = await startTestServer(hooked(receiver.url))
    const channels = Array.from({ length: 40 }, (_, i) => `hooks:p${i}`)
    for (let n = 1; n <= 3; n++) {
      const messages = channels.map((channel) => ({ channel, data: { n } }))
      expect((await postJson(`${server.url}/v1/publish`, { messages })).status).toBe(201)
    }
    await waitUntil(() => receiver.requests.filter((d) => d.status === 200).length === 120, {
      what: '120 deliveries',
    })
    for (const channel of channels) expect(receiver.delivered(channel)).toEqual([1, 2, 3])
    expect(most).toBeLessThanOrEqual(16)
    expect(most).toBeGreaterThan(4)
  })

  it('retries a failing message with backoff, then goes on in order', async () => {
    await receiver.start(0)
    // Anything but a 2xx fails the try, a redirect too (it is not followed).
    receiver.respond = (_delivery, index) => [500, 302, 404, 503][index] ?? 200
    server = await startTestServer(hooked(receiver.url))
    await publish(server, 'hooks:retry', 1, 5)
    await waitUntil(() => receiver.delivered('hooks:retry').length === 5, { what: 'five deliveries' })
    expect(receiver.requests.slice(0, 5).map((d) => [d.offset, d.headers['switchboard-attempt']])).toEqual([
      [1, '1'],
      [1, '2'],
      [1, '3'],
      [1, '4'],
      [1, '5'],
    ])
    expect(receiver.delivered('hooks:retry')).toEqual(range(1, 5))
    expect(receiver.requests).toHaveLength(9)
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toMatch(/switchboard_webhook_failures_total\{webhook="hooks:\*"\} 4/)
    expect(metrics).toMatch(/switchboard_webhook_deliveries_total\{webhook="hooks:\*"\} 5/)
  })

  it('gives up on an answer after timeoutMs and sends the message again', async () => {
    await receiver.start(0)
    receiver.respond = (_delivery, index) => (index === 0 ? new Promise<number>(() => {}) : 200)
    server = await startTestServer({
      namespaces: [
        {
          pattern: 'hooks:*',
          webhook: { url: receiver.url, secret: SECRET, timeoutMs: 300, maxBackoffMs: 50 },
        },
      ],
    })
    await publish(server, 'hooks:timeout', 1, 3)
    await waitUntil(() => receiver.delivered('hooks:timeout').length === 3, { what: 'three deliveries' })
    expect(receiver.requests.map((d) => d.offset)).toEqual([1, 1, 2, 3])
    expect(receiver.requests[1].headers['switchboard-attempt']).toBe('2')
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toMatch(/switchboard_webhook_failures_total\{webhook="hooks:\*"\} 1/)
  })

  it('sends credentials of the URL as basic auth, and never shows them', async () => {
    await receiver.start(0)
    const url = receiver.url.replace('http://', 'http://hook%20user:p%40ss@')
    server = await startTestServer(hooked(url))
    await publish(server, 'hooks:auth', 1, 1)
    await waitUntil(() => receiver.delivered('hooks:auth').length === 1, { what: 'the delivery' })
    const expected = `Basic ${Buffer.from('hook user:p@ss').toString('base64')}`
    expect(receiver.requests[0].headers.authorization).toBe(expected)
    const status = await call(`${server.url}/v1/webhooks`)
    expect(status.text).not.toContain('p%40ss')
    expect(status.text).not.toContain(SECRET)
    expect(status.body).toMatchObject({ webhooks: [{ url: receiver.url }] })
  })

  it('waits between tries: backoff grows up to maxBackoffMs', async () => {
    await receiver.start(0)
    const times: number[] = []
    receiver.respond = (_delivery, index) => {
      times.push(Date.now())
      return index < 5 ? 503 : 200
    }
    server = await startTestServer(
      hooked(receiver.url, {
        namespaces: [
          { pattern: 'hooks:*', webhook: { url: receiver.url, secret: SECRET, maxBackoffMs: 400 } },
        ],
      }),
    )
    await publish(server, 'hooks:slow', 1, 1)
    await waitUntil(() => receiver.delivered('hooks:slow').length === 1, { what: 'the delivery' })
    const gaps = times.slice(1).map((t, i) => t - times[i])
    // Backoff after the n-th failure is in [c/2, c] with c = min(400, 100 * 2^(n-1)).
    const floors = [50, 100, 200, 200, 200]
    for (const [i, gap] of gaps.entries()) expect(gap).toBeGreaterThanOrEqual(floors[i] - 5)
    expect(gaps[4]).toBeLessThan(1000)
  })

  it('delivers everything missed while the endpoint was down for 5 s, in order, and reports it', async () => {
    await receiver.start(0)
    await receiver.stop()
    server = await startTestServer(
      hooked(receiver.url, {
        namespaces: [
          { pattern: 'hooks:*', webhook: { url: receiver.url, secret: SECRET, maxBackoffMs: 300 } },
        ],
      }),
    )
    const downSince = Date.now()
    await publish(server, 'hooks:down', 1, 10)
    await publish(server, 'hooks:other', 1, 3)
    const laneOf = async (channel: string) => {
      const { webhooks } = (await (await fetch(`${server!.url}/v1/webhooks`)).json()) as {
        webhooks: { channels: Record<string, unknown>[] }[]
      }
      return { webhook: webhooks[0], lane: webhooks[0].channels.find((c) => c.channel === channel) }
    }
    const report = await waitUntil(
      async () => {
        const seen = await laneOf('hooks:down')
        return (seen.lane?.consecutive_failures as number) >= 2 ? seen : undefined
      },
      { what: 'failures reported' },
    )
    expect(report.webhook).toMatchObject({ pattern: 'hooks:*', url: receiver.url, failing: true, lag: 13 })
    expect(report.lane).toMatchObject({ delivered_offset: 0, last_offset: 10, lag: 10 })
    expect(report.lane!.last_error).toMatch(/ECONNREFUSED/)
    expect(report.lane!.next_retry_at).toBeGreaterThan(Date.now() - 1000)
    const one = await call<{ webhooks: { channels_total: number; channels: unknown[] }[] }>(
      `${server.url}/v1/webhooks?limit=1`,
    )
    expect(one.body.webhooks[0].channels_total).toBe(2)
    expect(one.body.webhooks[0].channels).toHaveLength(1)
    const other = await call<{ webhooks: { lag: number; channels: { channel: string }[] }[] }>(
      `${server.url}/v1/webhooks?channel=hooks:other`,
    )
    expect(other.body.webhooks[0]).toMatchObject({ lag: 3, channels: [{ channel: 'hooks:other' }] })
    const bad = await call(`${server.url}/v1/webhooks?limit=0`)
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({ code: 'invalid_parameter' })
    // Keep publishing while it is down: one message after each further failed try, for 5 s.
    let next = 11
    await waitUntil(
      async () => {
        const failures = (await laneOf('hooks:down')).lane!.consecutive_failures as number
        if (failures >= next - 8) await publish(server!, 'hooks:down', next, next++)
        return Date.now() - downSince >= 5000
      },
      { timeoutMs: 10_000, everyMs: 50, what: 'five seconds down' },
    )
    const published = next - 1
    expect(receiver.requests).toHaveLength(0)
    await receiver.start()
    await waitUntil(() => receiver.delivered('hooks:down').length === published, { what: 'the backlog' })
    await waitUntil(() => receiver.delivered('hooks:other').length === 3, { what: 'the other channel' })
    expect(published).toBeGreaterThan(12)
    expect(receiver.delivered('hooks:down')).toEqual(range(1, published))
    expect(receiver.delivered('hooks:other')).toEqual(range(1, 3))
    expect(receiver.requests.every((d: Delivery) => verifySignature(d, SECRET))).toBe(true)
    const after = (await (await fetch(`${server.url}/v1/webhooks`)).json()) as {
      webhooks: { failing: boolean; lag: number }[]
    }
    expect(after.webhooks[0]).toMatchObject({ failing: false, lag: 0 })
  })

  it('resumes from the stored cursor after a restart: nothing missed, only the in-flight one again', async () => {
    await receiver.start(0)
    let holding = true
    receiver.respond = (delivery) => (delivery.offset === 5 && holding ? new Promise<number>(() => {}) : 200)
    server = await startTestServer(hooked(receiver.url))
    await publish(server, 'hooks:restart', 1, 10)
    await waitUntil(() => receiver.requests.some((d) => d.offset === 5), { what: 'offset 5 in flight' })
    expect(receiver.delivered('hooks:restart')).toEqual(range(1, 4))
    holding = false
    server = await server.restart()
    await waitUntil(() => receiver.delivered('hooks:restart').length === 10, { what: 'the backlog' })
    await publish(server, 'hooks:restart', 11, 12)
    await waitUntil(() => receiver.delivered('hooks:restart').length === 12, { what: 'all twelve' })
    expect(receiver.delivered('hooks:restart')).toEqual(range(1, 12))
    expect(receiver.requests.map((d) => d.offset)).toEqual([...range(1, 5), ...range(5, 12)])
  })
})
