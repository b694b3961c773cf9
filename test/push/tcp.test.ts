import { connect } from 'node:net'
import { Packr } from 'msgpackr'
import { afterEach, describe, expect, it } from 'vitest'
import { type ChannelMessage, TcpClient } from '../../client/node.js'
import { FrameDecoder, lengthPrefix } from '../../src/protocol/length-prefixed.js'
import { postJson } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitUntil } from '../helpers/wait.js'

let server: TestServer | undefined
const clients: TcpClient[] = []
afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await server?.stop()
  server = undefined
})

async function open(port: number | undefined): Promise<TcpClient> {
  const client = await TcpClient.connect(port as number)
  clients.push(client)
  return client
}

describe('raw TCP protocol', () => {
  it('subscribes, publishes and resumes from an offset, binary payloads byte-exact', async () => {
    server = await startTestServer()
    const { url, tcpPort } = server
    expect(tcpPort).toBeGreaterThan(0)
    const client = await open(tcpPort)
    const got: ChannelMessage[] = []
    await client.subscribe('tcp:a', (m) => got.push(m), 0)
    expect(await client.publish('tcp:a', { n: 1 })).toBe(1)
    await postJson(`${url}/v1/channels/tcp:a/messages`, { n: 2 })
    expect(await client.publish('tcp:a', new Uint8Array([0, 200, 255]), 'application/x-bin')).toBe(3)
    await waitUntil(() => got.length === 3, { what: 'three messages' })
    expect(got.map((m) => m.offset)).toEqual([1, 2, 3])
    expect(got.map((m) => m.data).slice(0, 2)).toEqual([{ n: 1 }, { n: 2 }])
    expect([...(got[2].bytes ?? [])]).toEqual([0, 200, 255])
    expect(got[2].contentType).toBe('application/x-bin')
    await client.ping()

    const again = await open(tcpPort)
    const rest: ChannelMessage[] = []
    await again.subscribe('tcp:a', (m) => rest.push(m), 1)
    await waitUntil(() => rest.length === 2, { what: 'the messages after offset 1' })
    expect(rest.map((m) => m.offset)).toEqual([2, 3])
  })

  it('answers frames over the frame rate with rate_limited, runs none of them, and goes on', async () => {
    server = await startTestServer({ limits: { frameRatePerSecond: 3 } })
    const client = await open(server.tcpPort)
    const answers = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => client.publish('tcp:rl', { i })),
    )
    const refused = answers.filter((a) => a.status === 'rejected')
    const stored = answers.filter((a) => a.status === 'fulfilled')
    expect(refused.length).toBeGreaterThan(0)
    for (const a of refused)
      expect((a as PromiseRejectedResult).reason).toMatchObject({ code: 'rate_limited' })
    // Refused frames stored nothing; once the bucket refills the connection carries on.
    let offset = 0
    await waitUntil(
      () =>
        client.publish('tcp:rl', 'after').then(
          (at) => {
            offset = at
            return true
          },
          () => false,
        ),
      { what: 'a token' },
    )
    expect(offset).toBe(stored.length + 1)
  })

  it('answers bad frames with error frames, and closes on a frame over the limit', async () => {
    server = await startTestServer({ limits: { payloadBytes: 1024 } })
    const client = await open(server.tcpPort)
    await expect(client.request({ op: 'fly' })).rejects.toMatchObject({ code: 'unknown_op' })
    await expect(client.request({ op: 'pub', channel: '$job:x', data: 1 })).rejects.toMatchObject({
      code: 'invalid_channel',
    })
    await expect(client.request({ op: 'sub', channel: 'a b' })).rejects.toMatchObject({
      code: 'invalid_channel',
    })
    await client.ping()

    // Not msgpack at all: an error frame, and the connection goes on.
    const raw = connect(server.tcpPort as number, '127.0.0.1')
    const packr = new Packr({ useRecords: false, mapsAsObjects: true })
    const answers: Buffer[] = []
    raw.on('data', (chunk: Buffer) => answers.push(chunk))
    const closed = new Promise((resolve) => raw.on('close', resolve))
    raw.write(Buffer.concat([lengthPrefix(2), Buffer.from([0xc1, 0xc1])]))
    await waitUntil(() => answers.length > 0, { what: 'an error frame' })
    expect(packr.unpack(Buffer.concat(answers).subarray(4))).toMatchObject({
      op: 'error',
      code: 'invalid_frame',
    })
    // A frame announced over the limit: refused before its body is read, then closed.
    raw.write(lengthPrefix(10_000_000))
    await closed
    const frames = new FrameDecoder(1 << 20).push(Buffer.concat(answers)).map((f) => packr.unpack(f))
    expect(frames.at(-1)).toMatchObject({ op: 'error', code: 'payload_too_large' })
  })
})
