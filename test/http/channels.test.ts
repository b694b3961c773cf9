import http2 from 'node:http2'
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WireMessage } from '../../src/protocol/message-json.js'
import { call, postJson } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitUntil } from '../helpers/wait.js'

interface Page {
  messages: WireMessage[]
  next: number
}

let server: TestServer
let base: string

beforeAll(async () => {
  server = await startTestServer({ namespaces: [{ pattern: 'kept3:*', maxMessages: 3 }] })
  base = server.url
})
afterAll(() => server.stop())

const publishText = (channel: string, text: string, type = 'text/plain') =>
  call(`${base}/v1/channels/${channel}/messages`, {
    method: 'POST',
    body: text,
    headers: { 'content-type': type },
  })

describe('publish and poll', () => {
  it('round-trips JSON and binary payloads with contiguous offsets and a correct next', async () => {
    const json = await postJson(`${base}/v1/channels/rt/messages`, { hello: 'world', n: [1, 2, 3] })
    expect(json.status).toBe(201)
    expect(json.body).toMatchObject({ channel: 'rt', offset: 1 })
    expect(typeof json.body.id).toBe('string')
    expect(typeof json.body.time).toBe('number')
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255, 10])
    const bin = await call(`${base}/v1/channels/rt/messages`, {
      method: 'POST',
      body: bytes,
      headers: { 'content-type': 'application/octet-stream', 'switchboard-header-trace': 't-1' },
    })
    expect(bin.body).toMatchObject({ offset: 2 })

    const short = await call<Page>(`${base}/v1/channels/rt/messages?after=0`)
    expect(short.status).toBe(200)
    expect(short.body.next).toBe(2)
    expect(short.body.messages.map((m) => m.offset)).toEqual([1, 2])
    expect(short.body.messages[0].data).toEqual({ hello: 'world', n: [1, 2, 3] })
    expect(short.body.messages[0].id).toBe(json.body.id)
    expect(Buffer.from(short.body.messages[1].data_base64!, 'base64').equals(bytes)).toBe(true)
    expect(short.body.messages[1].content_type).toBe('application/octet-stream')
    expect(short.body.messages[1].headers).toEqual({ trace: 't-1' })

    const page = await call<Page>(`${base}/v1/channels/rt/messages?after=1&limit=1`)
    expect(page.body.messages.map((m) => m.offset)).toEqual([2])
    expect(page.body.next).toBe(2)
    const empty = await call<Page>(`${base}/v1/channels/rt/messages?after=2`)
    expect(empty.body).toEqual({ messages: [], next: 2 })

    const held = call<Page>(`${base}/v1/channels/rt/messages?after=2&wait=5`)
    await waitUntil(async () => (await stats()).long_polls === 1, { what: 'the long poll to be held' })
    await publishText('rt', 'third')
    const long = await held
    expect(long.body.messages.map((m) => m.offset)).toEqual([3])
    expect(Buffer.from(long.body.messages[0].data_base64!, 'base64').toString()).toBe('third')
    expect(long.body.next).toBe(3)
  })

  it('reads after=0 from the oldest retained message', async () => {
    for (let i = 1; i <= 5; i++) await publishText('kept3:a', `m${i}`)
    const page = await call<Page>(`${base}/v1/channels/kept3:a/messages?after=0`)
    expect(page.body.messages.map((m) => m.offset)).toEqual([3, 4, 5])
    const info = await call(`${base}/v1/channels/kept3:a`)
    expect(info.body).toEqual({ channel: 'kept3:a', first_offset: 3, last_offset: 5, messages: 3, bytes: 6 })
  })

  it('answers a held long poll within 50 ms of a publish', async () => {
    // Measured from the publish's acknowledgement (the commit), so that fsync time on a busy machine
    // is not counted; five rounds, so that a waiter woken by a timer cannot pass by luck.
    for (let round = 1; round <= 5; round++) {
      const held = call<Page>(`${base}/v1/channels/fast/messages?after=${round - 1}&wait=10`)
      await waitUntil(async () => (await stats()).long_polls === 1, { what: 'the long poll to be held' })
      let answeredAt = 0
      const answered = held.then((answer) => {
        answeredAt = performance.now()
        return answer
      })
      await postJson(`${base}/v1/channels/fast/messages`, { round })
      const ackedAt = performance.now()
      const answer = await answered
      expect(answer.body.messages.map((m) => m.offset)).toEqual([round])
      expect(answeredAt - ackedAt).toBeLessThan(50)
    }
  })

  it('answers an expired wait with 200 and no messages', async () => {
    const started = performance.now()
    const answer = await call<Page>(`${base}/v1/channels/quiet/messages?after=0&wait=0.3`)
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ messages: [], next: 0 })
  })

  it('releases 2,000 long polls with one publish, and forgets the 1,000 whose clients left', async () => {
    const agent = new Agent({ connections: 2100, pipelining: 1 })
    try {
      const aborts = Array.from({ length: 1000 }, () => new AbortController())
      // The longest wait allowed, so that no held poll ends by itself on a slow machine.
      const url = `${base}/v1/channels/crowd/messages?after=0&wait=60`
      const kept = Array.from({ length: 1000 }, () =>
        agent.request({ origin: base, path: new URL(url).pathname + new URL(url).search, method: 'GET' }),
      )
      const left = aborts.map((a) =>
        agent
          .request({
            origin: base,
            path: new URL(url).pathname + new URL(url).search,
            method: 'GET',
            signal: a.signal,
          })
          .catch((e: Error) => e),
      )
      let held = 0
      const heldNow = async () => {
        held = (await stats()).long_polls
        return held
      }
      await waitUntil(async () => (await heldNow()) === 2000, {
        timeoutMs: 20_000,
        what: () => `2,000 held polls (${held} held)`,
      })
      for (const a of aborts) a.abort()
      await Promise.all(left)
      await waitUntil(async () => (await heldNow()) === 1000, {
        timeoutMs: 10_000,
        what: () => `the 1,000 to be removed (${held} held)`,
      })
      await postJson(`${base}/v1/channels/crowd/messages`, { all: 'of you' })
      const answers = await Promise.all(
        kept.map(async (p) => JSON.parse(await (await p).body.text()) as Page),
      )
      expect(answers.every((a) => a.messages.length === 1 && a.messages[0].offset === 1)).toBe(true)
      expect((await stats()).long_polls).toBe(0)
      const metrics = await call(`${base}/metrics`)
      expect(metrics.text).toMatch(/^switchboard_long_poll_waiters 0$/m)
    } finally {
      await agent.close()
    }
  })

  it('dedupes a publish retried with the same Idempotency-Key', async () => {
    const headers = { 'idempotency-key': 'order-42' }
    const first = await postJson(`${base}/v1/channels/idem/messages`, { n: 1 }, headers)
    const again = await postJson(`${base}/v1/channels/idem/messages`, { n: 1 }, headers)
    expect(again.status).toBe(201)
    expect(again.body).toEqual(first.body)
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect((await call(`${base}/v1/channels/idem`)).body).toMatchObject({ messages: 1, last_offset: 1 })
    const elsewhere = await postJson(`${base}/v1/channels/idem-b/messages`, { n: 1 }, headers)
    expect(elsewhere.body).toMatchObject({ channel: 'idem-b', offset: 1 })
  })

  it('dedupes a batch retried with the same Idempotency-Key, scoped to the batch route', async () => {
    const headers = { 'idempotency-key': 'batch-7' }
    const batch = {
      messages: [
        { channel: 'ib-a', data: 1 },
        { channel: 'ib-b', data: 2 },
      ],
    }
    const first = await postJson(`${base}/v1/publish`, batch, headers)
    const again = await postJson(`${base}/v1/publish`, batch, headers)
    expect(first.status).toBe(201)
    expect(again.body).toEqual(first.body)
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect((await call(`${base}/v1/channels/ib-a`)).body).toMatchObject({ messages: 1 })
    // The same key on the single-message route is another scope: stored.
    const single = await postJson(`${base}/v1/channels/ib-a/messages`, { n: 3 }, headers)
    expect(single.headers['idempotent-replayed']).toBeUndefined()
    expect(single.body).toMatchObject({ channel: 'ib-a', offset: 2 })
  })

  it('publishes a batch in input order, all or nothing', async () => {
    const ok = await postJson<{ results: { channel: string; offset: number }[] }>(`${base}/v1/publish`, {
      messages: [
        { channel: 'b1', data: 1 },
        { channel: 'b2', data: { two: 2 }, headers: { k: 'v' } },
        { channel: 'b1', data_base64: Buffer.from('raw').toString('base64'), content_type: 'text/plain' },
      ],
    })
    expect(ok.status).toBe(201)
    expect(ok.body.results.map((r) => [r.channel, r.offset])).toEqual([
      ['b1', 1],
      ['b2', 1],
      ['b1', 2],
    ])
    const bad = await postJson(`${base}/v1/publish`, {
      messages: [
        { channel: 'b1', data: 'would be 3' },
        { channel: 'no spaces', data: 'bad' },
      ],
    })
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({ code: 'invalid_channel' })
    expect((await call(`${base}/v1/channels/b1`)).body).toMatchObject({ last_offset: 2 })
  })

  it('serves the same API over h2c (HTTP/2 with prior knowledge)', async () => {
    const session = http2.connect(base)
    try {
      const ask = (headers: http2.OutgoingHttpHeaders, body?: string) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const stream = session.request(headers)
          let text = ''
          let status = 0
          stream.on('response', (h) => {
            status = Number(h[':status'])
          })
          stream.setEncoding('utf8')
          stream.on('data', (chunk: string) => {
            text += chunk
          })
          stream.on('end', () => resolve({ status, text }))
          stream.on('error', reject)
          stream.end(body)
        })
      const pub = await ask(
        { ':method': 'POST', ':path': '/v1/channels/h2/messages', 'content-type': 'application/json' },
        '{"over":"h2"}',
      )
      expect(pub.status).toBe(201)
      const read = await ask({ ':method': 'GET', ':path': '/v1/channels/h2/messages?after=0' })
      expect(JSON.parse(read.text).messages[0].data).toEqual({ over: 'h2' })
    } finally {
      session.close()
    }
  })
})

async function stats(): Promise<{ long_polls: number; connections: number }> {
  return (await call<{ long_polls: number; connections: number }>(`${base}/v1/stats`)).body
}

describe('across a restart', () => {
  it('keeps messages and Idempotency-Key results on the same data directory', async () => {
    let own = await startTestServer()
    try {
      const headers = { 'idempotency-key': 'restart-1' }
      const first = await postJson(`${own.url}/v1/channels/durable/messages`, { v: 1 }, headers)
      own = await own.restart()
      const again = await postJson(`${own.url}/v1/channels/durable/messages`, { v: 1 }, headers)
      expect(again.status).toBe(201)
      expect(again.body).toEqual(first.body)
      const page = await call<Page>(`${own.url}/v1/channels/durable/messages?after=0`)
      expect(page.body.messages.map((m) => [m.offset, m.id])).toEqual([[1, first.body.id]])
      const next = await postJson(`${own.url}/v1/channels/durable/messages`, { v: 2 })
      expect(next.body).toMatchObject({ offset: 2 })
    } finally {
      await own.stop()
    }
  })
})
