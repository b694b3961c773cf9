import { afterEach, describe, expect, it } from 'vitest'
import { type ChannelMessage, type Client, connect, type TransportKind } from '../../client/node.js'
import { freePort } from '../helpers/process.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitUntil } from '../helpers/wait.js'

const TRANSPORTS: TransportKind[] = ['websocket', 'sse', 'longpoll']

let server: TestServer | undefined
const clients: Client[] = []
afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await server?.stop()
  server = undefined
})

function open(url: string, transport: TransportKind): Client {
  const client = connect(url, {
    transport,
    reconnectDelayMs: 50,
    maxReconnectDelayMs: 200,
    longPollWaitSeconds: 2,
  })
  clients.push(client)
  return client
}

/** Every message the client receives on `channels`, by channel. */
async function collect(
  client: Client,
  channels: string[],
  after?: number,
): Promise<Map<string, ChannelMessage[]>> {
  const got = new Map<string, ChannelMessage[]>(channels.map((c) => [c, []]))
  const subscriptions = channels.map((channel) =>
    client.subscribe(channel, (m) => got.get(channel)?.push(m), after === undefined ? {} : { after }),
  )
  await Promise.all(subscriptions.map((s) => s.ready))
  return got
}

const offsets = (messages: ChannelMessage[] | undefined) => (messages ?? []).map((m) => m.offset)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe.each(TRANSPORTS)('SDK over %s', (transport) => {
  it('subscribes to three channels on one connection and gets every message in order', async () => {
    server = await startTestServer()
    const client = open(server.url, transport)
    const channels = ['sdk:a', 'sdk:b', 'sdk:c']
    const got = await collect(client, channels, 0)
    await client.ready()
    expect(client.transport).toBe(transport)
    for (let i = 0; i < 10; i++) for (const channel of channels) await client.publish(channel, { i })
    const binary = await client.publish('sdk:a', new Uint8Array([0, 255, 7]), { contentType: 'image/x-test' })
    expect(binary.offset).toBe(11)
    await waitUntil(() => channels.every((c) => got.get(c)?.length === (c === 'sdk:a' ? 11 : 10)), {
      what: 'every message',
    })
    for (const channel of channels) {
      expect(offsets(got.get(channel))).toEqual(range(1, channel === 'sdk:a' ? 11 : 10))
      expect(
        got
          .get(channel)
          ?.slice(0, 10)
          .map((m) => m.data),
      ).toEqual(range(0, 9).map((i) => ({ i })))
    }
    const last = got.get('sdk:a')?.[10]
    expect(last?.contentType).toBe('image/x-test')
    expect([...(last?.bytes ?? [])]).toEqual([0, 255, 7])
  })

  it('resumes every subscription after a server restart with no gap and no duplicate', async () => {
    const port = await freePort()
    server = await startTestServer({ port })
    const client = open(server.url, transport)
    const got = await collect(client, ['resume:a', 'resume:b'])
    await client.ready()
    // Live-only subscriptions start at the channel's end, so earlier messages are not delivered.
    await client.publish('resume:a', 'before')
    await waitUntil(() => got.get('resume:a')?.length === 1, { what: 'the first message' })

    server = await server.restart()
    for (let i = 0; i < 5; i++) {
      await server.broker.publish([
        {
          channel: 'resume:a',
          headers: {},
          contentType: 'application/json',
          payload: Buffer.from(String(i)),
        },
        {
          channel: 'resume:b',
          headers: {},
          contentType: 'application/json',
          payload: Buffer.from(String(i)),
        },
      ])
    }
    await waitUntil(() => got.get('resume:a')?.length === 6 && got.get('resume:b')?.length === 5, {
      timeoutMs: 10_000,
      what: 'the messages published while the client was reconnecting',
    })
    expect(offsets(got.get('resume:a'))).toEqual(range(1, 6))
    expect(offsets(got.get('resume:b'))).toEqual(range(1, 5))
  })

  it('iterates a subscription asynchronously and ends a refused one with its error', async () => {
    server = await startTestServer()
    const client = open(server.url, transport)
    const subscription = client.subscribe<{ n: number }>('iter', undefined, { after: 0 })
    for (let n = 1; n <= 3; n++) await client.publish('iter', { n })
    const seen: number[] = []
    for await (const message of subscription) {
      seen.push(message.data.n)
      if (seen.length === 3) break
    }
    expect(seen).toEqual([1, 2, 3])

    const bad = client.subscribe('not a channel!', undefined, { after: 0 })
    await expect(
      (async () => {
        for await (const _ of bad) return
      })(),
    ).rejects.toMatchObject({ code: 'invalid_channel' })
  })
})
