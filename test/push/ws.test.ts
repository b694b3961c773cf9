import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { ConfigInput } from '../../src/config.js'
import { call, postJson } from '../helpers/http.js'
import { freePort } from '../helpers/process.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitUntil } from '../helpers/wait.js'
import { type Frame, WsClient } from '../helpers/ws.js'

let server: TestServer | undefined
const clients: WsClient[] = []
afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await server?.stop()
  server = undefined
})

async function start(overrides: ConfigInput = {}): Promise<TestServer> {
  server = await startTestServer(overrides)
  return server
}

async function open(url: string, protocol?: string): Promise<WsClient> {
  const client = await WsClient.open(url, protocol)
  clients.push(client)
  return client
}

const publish = (url: string, channel: string, data: unknown) =>
  postJson(`${url}/v1/channels/${channel}/messages`, data)
const offsets = (frames: Frame[]) => frames.map((f) => f.offset)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('WebSocket', () => {
  it('carries three channels on one connection, every message in offset order per channel', async () => {
    const { url } = await start()
    const ws = await open(url)
    const channels = ['ws:a', 'ws:b', 'ws:c']
    await publish(url, 'ws:a', 'retained')
    for (const channel of channels)
      expect(await ws.request({ op: 'sub', channel, after: 0 })).toMatchObject({ op: 'ok' })
    for (let i = 0; i < 20; i++) await Promise.all(channels.map((c) => publish(url, c, { i })))
    await ws.until(() =>
      ws.messages('ws:a').length === 21 && ws.messages('ws:c').length === 20 ? true : undefined,
    )
    expect(offsets(ws.messages('ws:a'))).toEqual(range(1, 21))
    for (const channel of ['ws:b', 'ws:c']) {
      expect(offsets(ws.messages(channel))).toEqual(range(1, 20))
      expect(ws.messages(channel).map((f) => f.data)).toEqual(range(0, 19).map((i) => ({ i })))
    }
    expect(ws.messages('ws:a')[0]).toMatchObject({ data: 'retained', headers: {}, channel: 'ws:a' })
  })

  it('publishes, unsubscribes and answers pings', async () => {
    const { url } = await start()
    const ws = await open(url)
    expect(await ws.request({ op: 'sub', channel: 'p' })).toMatchObject({ op: 'ok' })
    expect(await ws.request({ op: 'pub', channel: 'p', data: { n: 1 } })).toMatchObject({
      op: 'ok',
      offset: 1,
    })
    await ws.until(() => ws.messages('p')[0])
    expect(await ws.request({ op: 'unsub', channel: 'p' })).toMatchObject({ op: 'ok' })
    await publish(url, 'p', { n: 2 })
    expect(await ws.request({ op: 'ping' })).toMatchObject({ op: 'pong' })
    const read = await call<{ messages: unknown[] }>(`${url}/v1/channels/p/messages?after=0`)
    expect(read.body.messages).toHaveLength(2)
    expect(ws.messages('p')).toHaveLength(1)
  })

  it('resumes from the last offset after the client is killed mid-stream, and after a server restart', async () => {
    const port = await freePort()
    const first = await start({ port })
    const ws = await open(first.url)
    await ws.request({ op: 'sub', channel: 'r:a', after: 0 })
    await ws.request({ op: 'sub', channel: 'r:b', after: 0 })
    const publishing = (async () => {
      for (let i = 0; i < 60; i++) await publish(first.url, i % 2 ? 'r:a' : 'r:b', { i })
    })()
    await ws.until(() => (ws.messages('r:a').length >= 5 ? true : undefined))
    ws.close()
    const seen = { a: ws.messages('r:a'), b: ws.messages('r:b') }
    const last = { a: seen.a.at(-1)?.offset as number, b: seen.b.at(-1)?.offset as number }
    await publishing

    server = await first.restart()
    const again = await open(server.url)
    await again.request({ op: 'sub', channel: 'r:a', after: last.a })
    await again.request({ op: 'sub', channel: 'r:b', after: last.b })
    await again.until(() =>
      again.messages('r:a').at(-1)?.offset === 30 && again.messages('r:b').at(-1)?.offset === 30
        ? true
        : undefined,
    )
    expect([...offsets(seen.a), ...offsets(again.messages('r:a'))]).toEqual(range(1, 30))
    expect([...offsets(seen.b), ...offsets(again.messages('r:b'))]).toEqual(range(1, 30))
  })

  it('carries the same messages over JSON and msgpack, binary payloads byte-exact', async () => {
    const { url } = await start()
    const json = await open(url, 'switchboard.v1.json')
    const msgpack = await open(url, 'switchboard.v1.msgpack')
    expect(json.socket.protocol).toBe('switchboard.v1.json')
    expect(msgpack.socket.protocol).toBe('switchboard.v1.msgpack')
    await json.request({ op: 'sub', channel: 'enc', after: 0 })
    await msgpack.request({ op: 'sub', channel: 'enc', after: 0 })
    const bytes = Buffer.from([0, 1, 2, 127, 128, 254, 255])
    await publish(url, 'enc', { hello: ['w', 1, null] })
    await call(`${url}/v1/channels/enc/messages`, {
      method: 'POST',
      body: bytes,
      headers: { 'content-type': 'image/png' },
    })
    expect(
      await msgpack.request({
        op: 'pub',
        channel: 'enc',
        data: new Uint8Array([9, 8, 7]),
        content_type: 'x/y',
      }),
    ).toMatchObject({ op: 'ok', offset: 3 })
    await json.until(() => json.messages('enc')[2])
    await msgpack.until(() => msgpack.messages('enc')[2])
    const [j, m] = [json.messages('enc'), msgpack.messages('enc')]
    expect(m[0]).toEqual(j[0])
    expect(Buffer.from(j[1].data_base64 as string, 'base64').equals(bytes)).toBe(true)
    expect(j[1].content_type).toBe('image/png')
    expect(Buffer.from(m[1].data as Uint8Array).equals(bytes)).toBe(true)
    expect(m[1]).toMatchObject({ content_type: 'image/png', id: j[1].id, offset: 2, time: j[1].time })
    expect([...(m[2].data as Uint8Array)]).toEqual([9, 8, 7])
    expect(Buffer.from(j[2].data_base64 as string, 'base64')).toEqual(Buffer.from([9, 8, 7]))
  })

  it('answers bad frames with error frames and closes oversized ones with 1009', async () => {
    const { url } = await start({ limits: { payloadBytes: 1024 } })
    const ws = await open(url)
    expect(await ws.request({ op: 'dance' })).toMatchObject({ op: 'error', code: 'unknown_op' })
    expect(await ws.request({ op: 'sub', channel: 'bad channel' })).toMatchObject({
      op: 'error',
      code: 'invalid_channel',
    })
    expect(await ws.request({ op: 'sub', channel: 'c', after: -1 })).toMatchObject({
      op: 'error',
      code: 'invalid_parameter',
    })
    expect(await ws.request({ op: 'pub', channel: '$job:x', data: 1 })).toMatchObject({
      op: 'error',
      code: 'invalid_channel',
    })
    expect(await ws.request({ op: 'pub', channel: 'c', data: 'x'.repeat(2000) })).toMatchObject({
      op: 'error',
      code: 'payload_too_large',
    })
    ws.socket.send('{not json')
    await ws.until((frames) => frames.find((f) => f.op === 'error' && f.code === 'invalid_json'))
    expect((await call(`${url}/v1/channels/c`)).status).toBe(404)
    // The connection still works after every refusal, and a subscription to a server channel is allowed.
    expect(await ws.request({ op: 'sub', channel: '$job:x', after: 0 })).toMatchObject({ op: 'ok' })
    ws.socket.send(JSON.stringify({ op: 'pub', id: 99, channel: 'c', data: 'y'.repeat(200_000) }))
    expect((await ws.closed).code).toBe(1009)
  })

  it('refuses a subscription over the limit, and the other subscriptions go on', async () => {
    const { url } = await start({ limits: { subscriptionsPerConnection: 2 } })
    const ws = await open(url)
    expect(await ws.request({ op: 'sub', channel: 'lim:a' })).toMatchObject({ op: 'ok' })
    expect(await ws.request({ op: 'sub', channel: 'lim:b' })).toMatchObject({ op: 'ok' })
    expect(await ws.request({ op: 'sub', channel: 'lim:c' })).toMatchObject({
      op: 'error',
      code: 'too_many_subscriptions',
    })
    await publish(url, 'lim:a', 'still here')
    await publish(url, 'lim:c', 'not for us')
    await ws.until(() => (ws.messages('lim:a').length === 1 ? true : undefined))
    expect(ws.messages('lim:a')[0]).toMatchObject({ offset: 1, data: 'still here' })
    // Freeing a slot lets a new subscription in.
    expect(await ws.request({ op: 'unsub', channel: 'lim:b' })).toMatchObject({ op: 'ok' })
    expect(await ws.request({ op: 'sub', channel: 'lim:c', after: 0 })).toMatchObject({ op: 'ok' })
    await ws.until(() => (ws.messages('lim:c').length === 1 ? true : undefined))
    // Over SSE, a stream asking for more channels than the limit is refused before it starts.
    const sse = await call<{ code: string }>(`${url}/v1/events?channel=x&channel=y&channel=z`)
    expect(sse.status).toBe(429)
    expect(sse.body.code).toBe('too_many_subscriptions')
  })

  it('answers frames over the frame rate with rate_limited and runs none of them; the rest of the connection goes on', async () => {
    const { url } = await start({ limits: { frameRatePerSecond: 4 } })
    const ws = await open(url)
    expect(await ws.request({ op: 'sub', channel: 'rl' })).toMatchObject({ op: 'ok' })
    // A burst of publishes well over the bucket (4, refilled at 4 a second).
    const ids = Array.from({ length: 12 }, (_, i) => ws.send({ op: 'pub', channel: 'rl', data: { i } }))
    const answers = await ws.until((frames) => {
      const mine = ids.map((id) => frames.find((f) => f.id === id && f.op !== 'msg'))
      return mine.every(Boolean) ? (mine as Frame[]) : undefined
    })
    const refused = answers.filter((f) => f.op === 'error')
    const stored = answers.filter((f) => f.op === 'ok')
    expect(refused.length).toBeGreaterThan(0)
    for (const f of refused) expect(f).toMatchObject({ code: 'rate_limited' })
    // Refused frames changed nothing: the channel holds exactly the publishes answered ok.
    const info = await call<{ last_offset: number }>(`${url}/v1/channels/rl`)
    expect(info.body.last_offset).toBe(stored.length)
    // Once the bucket refills, the same connection and its subscription carry on.
    await waitUntil(async () => (await ws.request({ op: 'ping' })).op === 'pong', { what: 'a token' })
    await publish(url, 'rl', 'after the burst')
    await ws.until(() => ws.messages('rl').find((f) => f.data === 'after the burst'))
  })

  it('moves a subscriber that stops reading to catch-up, then closes it past the second bound', async () => {
    const { url } = await start({ limits: { pushBufferBytes: 16 * 1024, slowConsumerMs: 1000 } })
    const stats = async () =>
      (
        await call<{ subscriptions: number; congested_catch_ups: number; push: { websocket: number } }>(
          `${url}/v1/stats`,
        )
      ).body
    const ws = await open(url)
    await ws.request({ op: 'sub', channel: 'slow' })
    const socket = (ws.socket as unknown as { _socket: Socket })._socket
    socket.pause()
    // 16 MB: more than the kernel's socket buffers hold, so the server's side fills up.
    const big = 'z'.repeat(4000)
    for (let i = 0; i < 40; i++)
      await postJson(`${url}/v1/publish`, {
        messages: Array.from({ length: 100 }, () => ({ channel: 'slow', data: big })),
      })
    await waitUntil(async () => (await stats()).congested_catch_ups > 0, { what: 'a congested catch-up' })
    socket.resume()
    await ws.until(() => (ws.messages('slow').length === 4000 ? true : undefined), 20_000)
    expect(offsets(ws.messages('slow'))).toEqual(range(1, 4000))

    // A reader that never comes back is closed, with a reason it reads if it ever does.
    const stuck = await open(url)
    const stuckSocket = (stuck.socket as unknown as { _socket: Socket })._socket
    await stuck.request({ op: 'sub', channel: 'slow', after: 0 })
    stuckSocket.pause()
    await waitUntil(async () => (await stats()).push.websocket === 1, {
      timeoutMs: 10_000,
      what: 'the server to drop it',
    })
    expect((await stats()).subscriptions).toBe(1)
    stuckSocket.resume()
    const closed = await stuck.closed
    expect([1006, 1008]).toContain(closed.code)
  }, 60_000)

  it('refuses upgrades on other paths', async () => {
    const { url } = await start()
    const socket = new WebSocket(`${url.replace('http', 'ws')}/v1/nope`)
    const status = await new Promise<number>((resolve) =>
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    )
    expect(status).toBe(404)
  })
})

describe('WebSocket on shutdown', () => {
  it('closes every connection with 1001 and a reason to reconnect when the server drains', async () => {
    const s = await startTestServer()
    try {
      const sockets = await Promise.all(
        [1, 2].map(
          () =>
            new Promise<WebSocket>((resolve, reject) => {
              const ws = new WebSocket(`${s.url.replace('http', 'ws')}/v1/ws`, 'switchboard.v1.json')
              ws.once('open', () => resolve(ws)).once('error', reject)
            }),
        ),
      )
      const closes = sockets.map(
        (ws) =>
          new Promise<[number, string]>((resolve) =>
            ws.once('close', (code, reason) => resolve([code, reason.toString()])),
          ),
      )
      await s.stop()
      for (const [code, reason] of await Promise.all(closes)) {
        expect(code).toBe(1001)
        expect(reason).toMatch(/reconnect/)
      }
    } finally {
      await s.stop()
    }
  })
})
