import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChannelMessage, connect } from '../../client/node.js'
import { startProxy, type TestProxy } from '../helpers/proxy.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitUntil } from '../helpers/wait.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.stop())

describe('SDK transport fallback', () => {
  it.each([
    [{ websocket: true }, 'sse'],
    [{ websocket: true, sse: true }, 'longpoll'],
    [{}, 'websocket'],
  ] as const)('behind a proxy refusing %o, picks %s and still delivers', async (refuse, expected) => {
    const proxy: TestProxy = await startProxy(server.url, refuse)
    const client = connect(proxy.url, { longPollWaitSeconds: 2, openTimeoutMs: 3000 })
    try {
      const channel = `fallback:${expected}`
      const got: ChannelMessage[] = []
      await client.subscribe(channel, (m) => got.push(m), { after: 0 }).ready
      await client.ready()
      expect(client.transport).toBe(expected)
      for (let i = 1; i <= 3; i++) await client.publish(channel, { i })
      await waitUntil(() => got.length === 3, { what: 'three messages' })
      expect(got.map((m) => m.data)).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }])
    } finally {
      client.close()
      await proxy.close()
    }
  })
})
