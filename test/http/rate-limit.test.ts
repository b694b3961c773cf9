import type { Agent } from 'undici'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { call, clientFrom } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

let server: TestServer | undefined
const agents: Agent[] = []
afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()))
  await server?.stop()
})

describe('rate limits', () => {
  it('are on by default, for HTTP requests and for push frames', () => {
    const { limits } = loadConfig({})
    expect(limits.ratePerSecond).toBeGreaterThan(0)
    expect(limits.frameRatePerSecond).toBeGreaterThan(0)
  })

  it('answer 429 with Retry-After to one address over its rate, change nothing, and leave other addresses alone', async () => {
    server = await startTestServer({ limits: { ratePerSecond: 1, rateBurst: 3 } })
    const [noisy, quiet, reader] = ['127.0.0.1', '127.0.0.2', '127.0.0.3'].map(clientFrom)
    agents.push(noisy, quiet, reader)
    const publish = (dispatcher: Agent, i: number) =>
      call(`${server!.url}/v1/channels/rl/messages`, {
        method: 'POST',
        body: JSON.stringify({ i }),
        headers: { 'content-type': 'application/json' },
        dispatcher,
      })

    const answers = []
    for (let i = 0; i < 8; i++) answers.push(await publish(noisy, i))
    const limited = answers.filter((a) => a.status === 429)
    const accepted = answers.flatMap((a, i) => (a.status === 201 ? [i] : []))
    expect(limited.length).toBeGreaterThan(0)
    expect(accepted.length + limited.length).toBe(answers.length)
    for (const answer of limited) {
      expect(answer.headers['content-type']).toContain('application/problem+json')
      expect(answer.body).toMatchObject({ code: 'rate_limited', status: 429 })
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    }

    // Another address still has its whole bucket.
    expect((await publish(quiet, 100)).status).toBe(201)
    // Only what was accepted is stored.
    const page = await call<{ messages: { data: { i: number } }[] }>(
      `${server.url}/v1/channels/rl/messages?after=0`,
      { dispatcher: reader },
    )
    expect(page.body.messages.map((m) => m.data.i)).toEqual([...accepted, 100])
  })

  it('count each client behind a trusted proxy by its X-Forwarded-For, and ignore that header from anyone else', async () => {
    const behind = await startTestServer({
      trustProxy: '127.0.0.1',
      limits: { ratePerSecond: 1, rateBurst: 2 },
    })
    try {
      const [proxy, direct] = ['127.0.0.1', '127.0.0.2'].map(clientFrom)
      agents.push(proxy, direct)
      const read = (dispatcher: Agent, forwardedFor: string) =>
        call(`${behind.url}/v1/channels/xff/messages?after=0`, {
          headers: { 'x-forwarded-for': forwardedFor },
          dispatcher,
        })
      const statuses = async (dispatcher: Agent, clients: string[]) => {
        const out: number[] = []
        for (const client of clients) out.push((await read(dispatcher, client)).status)
        return out
      }
      // Through the proxy: one client spends its bucket, the next has its own.
      expect(await statuses(proxy, ['203.0.113.1', '203.0.113.1', '203.0.113.1'])).toEqual([200, 200, 429])
      expect(await statuses(proxy, ['203.0.113.2'])).toEqual([200])
      // Not a trusted proxy: a new X-Forwarded-For each time does not buy a new bucket.
      expect(await statuses(direct, ['198.51.100.1', '198.51.100.2', '198.51.100.3'])).toEqual([
        200, 200, 429,
      ])
    } finally {
      await behind.stop()
    }
  })

  it('refuse a --trust-proxy that is not addresses or CIDRs', () => {
    expect(() => loadConfig({ overrides: { trustProxy: 'everyone' } })).toThrow(/trustProxy|trust-proxy/)
  })
})
