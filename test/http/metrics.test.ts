import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TcpClient } from '../../client/node.js'
import { call, postJson } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { WsClient } from '../helpers/ws.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.stop())

const published = async () => {
  const text = (await call(`${server.url}/metrics`)).text
  return Number(/^switchboard_messages_published_total\{engine="sqlite"\} (\d+)$/m.exec(text)?.[1] ?? 0)
}

describe('metrics', () => {
  it('count the messages published by every transport once, and not a replay', async () => {
    const before = await published()
    const key = { 'idempotency-key': 'counted-once' }
    expect((await postJson(`${server.url}/v1/channels/m/messages`, { via: 'http' }, key)).status).toBe(201)
    expect((await postJson(`${server.url}/v1/channels/m/messages`, { via: 'http' }, key)).status).toBe(201)
    const batch = await postJson(`${server.url}/v1/publish`, {
      messages: [
        { channel: 'm', data: 1 },
        { channel: 'n', data: 2 },
      ],
    })
    expect(batch.status).toBe(201)
    const ws = await WsClient.open(server.url)
    const tcp = await TcpClient.connect(server.tcpPort as number)
    try {
      await ws.request({ op: 'pub', channel: 'm', data: { via: 'ws' } })
      await tcp.publish('m', { via: 'tcp' })
    } finally {
      ws.close()
      tcp.close()
    }
    expect((await published()) - before).toBe(5)
  })

  it('and /v1/stats say how the server is now', async () => {
    const stats = await call<Record<string, unknown>>(`${server.url}/v1/stats`)
    expect(stats.body).toMatchObject({ engine: 'sqlite', draining: false, long_polls: 0, held_claims: 0 })
    expect(stats.body.connections).toBeGreaterThanOrEqual(1)
    expect(stats.body.rss_bytes).toBeGreaterThan(1_000_000)
    expect(typeof stats.body.uptime_seconds).toBe('number')
    const text = (await call(`${server.url}/metrics`)).text
    expect(text).toMatch(/^switchboard_connections [1-9]\d*$/m)
    expect(text).toMatch(/^switchboard_http_requests_total\{[^}]*status="2xx"[^}]*\} [1-9]\d*$/m)
  })
})
