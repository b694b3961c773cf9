import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, postJson } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitUntil } from '../helpers/wait.js'

let server: TestServer
let base: string
const CHANNEL = 'guarded'

beforeAll(async () => {
  server = await startTestServer({
    limits: { payloadBytes: 1024, batchMessages: 5, batchBytes: 4096, headerBytes: 4096, maxLongPolls: 2 },
  })
  base = server.url
  await postJson(`${base}/v1/channels/${CHANNEL}/messages`, { seed: 1 })
})
afterAll(() => server.stop())

async function channelState() {
  return (await call(`${base}/v1/channels/${CHANNEL}/messages?after=0&limit=1000`)).text
}

/** Sends `text` on a new connection (and ends it, unless `end` is false); answers all that came back. */
function rawRequest(text: string, port = server.port, end = true): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => (end ? socket.end(text) : socket.write(text)))
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      answer += chunk
    })
    socket.on('close', () => resolve(answer))
    socket.on('error', reject)
  })
}

const long = 'x'.repeat(201)
const cases: [
  string,
  () => Promise<{ status: number; body: unknown; headers: Record<string, unknown> }>,
  number,
  string,
][] = [
  [
    'invalid channel name',
    () => postJson(`${base}/v1/channels/bad%20name/messages`, 1),
    400,
    'invalid_channel',
  ],
  [
    'channel name too long',
    () => postJson(`${base}/v1/channels/${long}/messages`, 1),
    400,
    'invalid_channel',
  ],
  ['invalid channel on poll', () => call(`${base}/v1/channels/a%2Fb/messages`), 400, 'invalid_channel'],
  [
    'negative after',
    () => call(`${base}/v1/channels/${CHANNEL}/messages?after=-1`),
    400,
    'invalid_parameter',
  ],
  [
    'non-numeric after',
    () => call(`${base}/v1/channels/${CHANNEL}/messages?after=abc`),
    400,
    'invalid_parameter',
  ],
  ['zero limit', () => call(`${base}/v1/channels/${CHANNEL}/messages?limit=0`), 400, 'invalid_parameter'],
  ['bad wait', () => call(`${base}/v1/channels/${CHANNEL}/messages?wait=soon`), 400, 'invalid_parameter'],
  [
    'repeated after',
    () => call(`${base}/v1/channels/${CHANNEL}/messages?after=1&after=2`),
    400,
    'invalid_parameter',
  ],
  [
    'payload over the limit',
    () => call(`${base}/v1/channels/${CHANNEL}/messages`, { method: 'POST', body: Buffer.alloc(2000) }),
    413,
    'payload_too_large',
  ],
  [
    'malformed JSON publish',
    () =>
      call(`${base}/v1/channels/${CHANNEL}/messages`, {
        method: 'POST',
        body: '{"a":',
        headers: { 'content-type': 'application/json' },
      }),
    400,
    'invalid_json',
  ],
  [
    'malformed JSON batch',
    () =>
      call(`${base}/v1/publish`, {
        method: 'POST',
        body: '[1,',
        headers: { 'content-type': 'application/json' },
      }),
    400,
    'invalid_json',
  ],
  ['batch without messages', () => postJson(`${base}/v1/publish`, { nope: [] }), 400, 'invalid_body'],
  ['empty batch', () => postJson(`${base}/v1/publish`, { messages: [] }), 400, 'invalid_body'],
  [
    'batch over the message limit',
    () =>
      postJson(`${base}/v1/publish`, {
        messages: Array.from({ length: 6 }, () => ({ channel: CHANNEL, data: 1 })),
      }),
    413,
    'payload_too_large',
  ],
  [
    'batch message over the payload limit',
    () => postJson(`${base}/v1/publish`, { messages: [{ channel: CHANNEL, data: 'y'.repeat(2000) }] }),
    413,
    'payload_too_large',
  ],
  [
    'batch with bad base64',
    () => postJson(`${base}/v1/publish`, { messages: [{ channel: CHANNEL, data_base64: '!!!' }] }),
    400,
    'invalid_body',
  ],
  [
    'bad message header name',
    () =>
      postJson(`${base}/v1/publish`, { messages: [{ channel: CHANNEL, data: 1, headers: { 'a b': 'c' } }] }),
    400,
    'invalid_body',
  ],
  [
    'batch body over the batch byte limit',
    () =>
      postJson(`${base}/v1/publish`, {
        messages: Array.from({ length: 5 }, () => ({ channel: CHANNEL, data: 'z'.repeat(1000) })),
      }),
    413,
    'payload_too_large',
  ],
  [
    'too many message headers',
    () =>
      postJson(`${base}/v1/publish`, {
        messages: [
          {
            channel: CHANNEL,
            data: 1,
            headers: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`h${i}`, 'v'])),
          },
        ],
      }),
    400,
    'invalid_body',
  ],
  [
    'message header value over 1 KiB',
    () =>
      postJson(`${base}/v1/publish`, {
        messages: [{ channel: CHANNEL, data: 1, headers: { long: 'v'.repeat(1025) } }],
      }),
    400,
    'invalid_body',
  ],
  [
    'bad Idempotency-Key',
    () => postJson(`${base}/v1/channels/${CHANNEL}/messages`, 1, { 'idempotency-key': 'é' }),
    400,
    'invalid_parameter',
  ],
  ['unknown route', () => call(`${base}/v1/nothing-here`), 404, 'not_found'],
  ['unknown channel info', () => call(`${base}/v1/channels/never-was`), 404, 'not_found'],
  [
    'wrong method',
    () => call(`${base}/v1/channels/${CHANNEL}`, { method: 'DELETE' }),
    405,
    'method_not_allowed',
  ],
]

describe('bad input', () => {
  it.each(cases)('%s → %i %s, channel unchanged', async (_name, send, status, code) => {
    const before = await channelState()
    const answer = await send()
    expect(answer.status).toBe(status)
    expect(String(answer.headers['content-type'])).toMatch(/^application\/problem\+json/)
    expect(answer.body).toMatchObject({ status, code, type: `urn:switchboard:problem:${code}` })
    expect(typeof (answer.body as { detail: unknown }).detail).toBe('string')
    expect(await channelState()).toBe(before)
  })

  it('answers 503 overloaded past --max-long-polls, and holds polls again once one ends', async () => {
    const url = `${base}/v1/channels/${CHANNEL}/messages?after=100&wait=10`
    const gone = [new AbortController(), new AbortController()]
    const held = gone.map((abort) => call(url, { signal: abort.signal }).catch(() => undefined))
    const stats = async () => (await call<{ long_polls: number }>(`${base}/v1/stats`)).body.long_polls
    await waitUntil(async () => (await stats()) === 2, { what: 'two held polls' })
    const refused = await call(url)
    expect(refused.status).toBe(503)
    expect(refused.body).toMatchObject({ code: 'overloaded' })
    for (const abort of gone) abort.abort()
    await Promise.all(held)
    await waitUntil(async () => (await stats()) === 0, { what: 'the polls to be let go' })
    const later = await call(`${base}/v1/channels/${CHANNEL}/messages?after=100&wait=0.05`)
    expect(later.status).toBe(200)
  })

  it('answers 408 to a request whose body does not come within --request-timeout-ms', async () => {
    const slow = await startTestServer({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 400 } })
    try {
      const started = Date.now()
      const answer = await rawRequest(
        `POST /v1/channels/${CHANNEL}/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab`,
        slow.port,
        false,
      )
      expect(answer).toMatch(/^HTTP\/1\.1 408 /)
      expect(answer).toContain('"code":"request_timeout"')
      expect(Date.now() - started).toBeLessThan(5000)
      expect((await call(`${slow.url}/v1/channels/${CHANNEL}`)).status).toBe(404)
    } finally {
      await slow.stop()
    }
  })

  it('answers 405 with Allow', async () => {
    const answer = await call(`${base}/v1/publish`, { method: 'GET' })
    expect(answer.status).toBe(405)
    expect(answer.headers.allow).toBe('POST')
  })

  it('refuses a chunked body over the limit without storing it', async () => {
    const before = await channelState()
    const chunk = 'z'.repeat(600)
    const answer = await rawRequest(
      `POST /v1/channels/${CHANNEL}/messages HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n` +
        `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`,
    )
    expect(answer).toMatch(/^HTTP\/1\.1 413/)
    expect(answer).toContain('"code":"payload_too_large"')
    expect(await channelState()).toBe(before)
  })

  it('answers 431 problem+json to headers over the limit', async () => {
    const answer = await rawRequest(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(8000)}\r\n\r\n`)
    expect(answer).toMatch(/^HTTP\/1\.1 431/)
    expect(answer).toContain('application/problem+json')
    expect(answer).toContain('"code":"headers_too_large"')
  })

  it('answers malformed HTTP with a problem and keeps serving others', async () => {
    const answer = await rawRequest('THIS IS NOT HTTP\r\n\r\n')
    expect(answer).toMatch(/^HTTP\/1\.1 400/)
    expect((await call(`${base}/healthz`)).status).toBe(200)
  })

  it('clamps a limit above the maximum and a wait above the maximum', async () => {
    const page = await call<{ messages: unknown[] }>(
      `${base}/v1/channels/${CHANNEL}/messages?after=0&limit=999999`,
    )
    expect(page.status).toBe(200)
    expect(page.body.messages.length).toBeGreaterThan(0)
  })
})
