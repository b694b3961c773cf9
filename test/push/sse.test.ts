import { EventSource } from 'eventsource'
import { afterEach, describe, expect, it } from 'vitest'
import type { WireMessage } from '../../src/protocol/message-json.js'
import { call, postJson, readUntil } from '../helpers/http.js'
import { freePort } from '../helpers/process.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitUntil } from '../helpers/wait.js'

let server: TestServer | undefined
const sources: EventSource[] = []
afterEach(async () => {
  for (const source of sources.splice(0)) source.close()
  await server?.stop()
  server = undefined
})

interface Received {
  readonly messages: WireMessage[]
  readonly ids: string[]
}

/** An `eventsource` client of /v1/events that records every message event and its id. */
function listen(url: string, channels: string[], query = '', headers: Record<string, string> = {}): Received {
  const params = channels.map((c) => `channel=${encodeURIComponent(c)}`).join('&')
  const source = new EventSource(`${url}/v1/events?${params}${query}`, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
  })
  sources.push(source)
  const received: Received = { messages: [], ids: [] }
  source.addEventListener('message', (event) => {
    received.messages.push(JSON.parse(event.data))
    received.ids.push(event.lastEventId)
  })
  return received
}

const publish = (url: string, channel: string, data: unknown) =>
  postJson(`${url}/v1/channels/${channel}/messages`, data)
const offsetsOf = (r: Received, channel: string) =>
  r.messages.filter((m) => m.channel === channel).map((m) => m.offset)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('server-sent events', () => {
  it('streams three channels on one connection, every message in offset order, with proxy-safe headers', async () => {
    server = await startTestServer()
    const { url } = server
    const head = await fetch(`${url}/v1/events?channel=x&after=0`)
    expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(head.headers.get('cache-control')).toBe('no-cache')
    expect(head.headers.get('x-accel-buffering')).toBe('no')
    const reader = head.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^retry: \d+/)
    await reader.cancel()

    await publish(url, 'sse:a', 'before')
    const received = listen(url, ['sse:a', 'sse:b', 'sse:c'], '&after=0')
    await waitUntil(() => received.messages.length === 1, { what: 'the retained message' })
    // Even the first event, sent while later channels are still subscribing, carries the whole vector.
    expect(received.ids[0]).toBe('sse:a:1,sse:b:0,sse:c:0')
    for (let i = 0; i < 15; i++) for (const c of ['sse:a', 'sse:b', 'sse:c']) await publish(url, c, { i })
    await waitUntil(() => received.messages.length === 46, { what: 'every message' })
    expect(offsetsOf(received, 'sse:a')).toEqual(range(1, 16))
    expect(offsetsOf(received, 'sse:b')).toEqual(range(1, 15))
    expect(offsetsOf(received, 'sse:c')).toEqual(range(1, 15))
    // The id is the vector of every channel's position after that event.
    expect(received.ids.at(-1)).toBe('sse:a:16,sse:b:15,sse:c:15')
  })

  it('resumes with Last-Event-ID after the client is killed mid-stream and after a server restart', async () => {
    const port = await freePort()
    server = await startTestServer({ port })
    const first = server
    const received = listen(first.url, ['res:a', 'res:b'], '&after=0')
    const publishing = (async () => {
      for (let i = 0; i < 40; i++) await publish(first.url, i % 2 ? 'res:a' : 'res:b', { i })
    })()
    await waitUntil(() => received.messages.length >= 6, { what: 'some messages' })
    sources[0].close()
    const lastId = received.ids.at(-1) as string
    const seen = received.messages.length
    await publishing

    server = await first.restart()
    const again = listen(server.url, ['res:a', 'res:b'], '', { 'last-event-id': lastId })
    await waitUntil(() => seen + again.messages.length === 40, { what: 'the rest' })
    for (const channel of ['res:a', 'res:b']) {
      const all = [...received.messages.slice(0, seen), ...again.messages].filter(
        (m) => m.channel === channel,
      )
      expect(all.map((m) => m.offset)).toEqual(range(1, 20))
    }
    // The query parameter works the same, and wins over after.
    const viaQuery = listen(
      server.url,
      ['res:a', 'res:b'],
      `&after=0&last_event_id=${encodeURIComponent('res:a:19,res:b:20')}`,
    )
    await waitUntil(() => viaQuery.messages.length === 1, { what: 'the one message after the vector' })
    expect(viaQuery.messages[0]).toMatchObject({ channel: 'res:a', offset: 20 })
  })

  it('is live only without a position, and refuses bad input with problem+json', async () => {
    server = await startTestServer()
    const { url } = server
    await publish(url, 'live', 'old')
    const received = listen(url, ['live'])
    await waitUntil(
      async () => (await call<{ push: { sse: number } }>(`${url}/v1/stats`)).body.push.sse === 1,
    )
    await waitUntil(
      async () => (await call<{ subscriptions: number }>(`${url}/v1/stats`)).body.subscriptions === 1,
    )
    await publish(url, 'live', 'new')
    await waitUntil(() => received.messages.length === 1)
    expect(received.messages[0]).toMatchObject({ offset: 2, data: 'new' })
    expect(received.ids).toEqual(['2'])

    for (const [query, code] of [
      ['', 'invalid_parameter'],
      ['channel=bad%20name', 'invalid_channel'],
      ['channel=a&after=-1', 'invalid_parameter'],
    ] as const) {
      const answer = await call<{ code: string }>(`${url}/v1/events?${query}`)
      expect(answer.status).toBe(400)
      expect(String(answer.headers['content-type'])).toMatch(/problem\+json/)
      expect(answer.body.code).toBe(code)
    }
  })

  it('keeps an idle stream alive with comment lines at push.keepAliveMs', async () => {
    server = await startTestServer({ push: { keepAliveMs: 100 } })
    const response = await fetch(`${server.url}/v1/events?channel=quiet`)
    const text = await readUntil(
      response,
      (t) => t.split(': keep-alive\n\n').length > 2,
      'two keep-alive comments',
    )
    expect(text).not.toContain('data:')
  })
})
