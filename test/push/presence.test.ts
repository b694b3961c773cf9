import type { Socket } from 'node:net'
import { EventSource } from 'eventsource'
import { afterEach, describe, expect, it } from 'vitest'
import { call } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitUntil } from '../helpers/wait.js'
import { type Frame, WsClient } from '../helpers/ws.js'

let server: TestServer | undefined
const closers: (() => void)[] = []
afterEach(async () => {
  for (const close of closers.splice(0)) close()
  await server?.stop()
  server = undefined
})

async function ws(url: string, client: string): Promise<WsClient> {
  const socket = await WsClient.open(url, 'switchboard.v1.json', `?client=${client}`)
  closers.push(() => socket.close())
  return socket
}

interface Members {
  clients: { client: string; connections: number }[]
}

describe('presence', () => {
  it('lists who is subscribed and announces joins and leaves ("a user just logged in")', async () => {
    server = await startTestServer({ namespaces: [{ pattern: 'room:*', presence: true }] })
    const { url } = server
    const observer = await ws(url, 'observer')
    await observer.request({ op: 'sub', channel: '$presence:room:1', after: 0 })
    const events = () => observer.messages('$presence:room:1').map((f: Frame) => f.data)

    const alice = await ws(url, 'alice')
    await alice.request({ op: 'sub', channel: 'room:1' })
    const bob = new EventSource(`${url}/v1/events?channel=room:1&client=bob`)
    closers.push(() => bob.close())
    await observer.until(() => (events().length === 2 ? true : undefined))
    expect(events()).toEqual([
      { event: 'join', channel: 'room:1', client: 'alice' },
      { event: 'join', channel: 'room:1', client: 'bob' },
    ])

    // A second tab of alice's is the same member, with two connections.
    const aliceAgain = await ws(url, 'alice')
    await aliceAgain.request({ op: 'sub', channel: 'room:1' })
    const listed = await call<Members>(`${url}/v1/channels/room:1/presence`)
    expect(listed.status).toBe(200)
    expect(listed.body.clients.map((c) => [c.client, c.connections]).sort()).toEqual([
      ['alice', 2],
      ['bob', 1],
    ])
    const viaWs = await observer.request({ op: 'presence', channel: 'room:1' })
    expect((viaWs.clients as Members['clients']).map((c) => c.client).sort()).toEqual(['alice', 'bob'])

    alice.close()
    bob.close()
    await observer.until(() => (events().length === 3 ? true : undefined))
    expect(events()[2]).toEqual({ event: 'leave', channel: 'room:1', client: 'bob' })
    aliceAgain.close()
    await observer.until(() => (events().length === 4 ? true : undefined))
    expect(events()[3]).toEqual({ event: 'leave', channel: 'room:1', client: 'alice' })
    await waitUntil(
      async () => (await call<Members>(`${url}/v1/channels/room:1/presence`)).body.clients.length === 0,
    )
  })

  it('is off unless the namespace turns it on, and checks client ids', async () => {
    server = await startTestServer()
    const answer = await call<{ code: string }>(`${server.url}/v1/channels/plain/presence`)
    expect(answer.status).toBe(404)
    expect(answer.body.code).toBe('not_found')
    const bad = await call<{ code: string }>(`${server.url}/v1/events?channel=a&client=no%20spaces`)
    expect(bad.status).toBe(400)
    expect(bad.body.code).toBe('invalid_parameter')
  })

  it('announces a join and a leave within 100 ms, and a client that vanishes after the ping timeout', async () => {
    const pingIntervalMs = 300
    server = await startTestServer({
      namespaces: [{ pattern: 'room:*', presence: true }],
      push: { pingIntervalMs },
    })
    const { url } = server
    const observer = await ws(url, 'observer')
    await observer.request({ op: 'sub', channel: '$presence:room:2' })
    const events = () => observer.messages('$presence:room:2').map((f: Frame) => f.data as { event: string })
    const eventAt = async (n: number) => {
      await observer.until(() => (events().length === n ? true : undefined))
      return performance.now()
    }

    // Ten arrivals and departures: typically announced within 100 ms (the median; a loaded test
    // machine may delay one now and then, never by much).
    const joins: number[] = []
    const leaves: number[] = []
    for (let i = 0; i < 10; i++) {
      const carol = await ws(url, 'carol')
      await carol.request({ op: 'sub', channel: 'room:2' })
      const subscribed = performance.now()
      joins.push((await eventAt(2 * i + 1)) - subscribed)
      const leaving = performance.now()
      carol.close()
      leaves.push((await eventAt(2 * i + 2)) - leaving)
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
    expect(median(joins)).toBeLessThan(100)
    expect(median(leaves)).toBeLessThan(100)
    expect(Math.max(...joins, ...leaves)).toBeLessThan(2000)
    expect(events().slice(0, 2)).toEqual([
      { event: 'join', channel: 'room:2', client: 'carol' },
      { event: 'leave', channel: 'room:2', client: 'carol' },
    ])

    // Dave's machine drops off the network: no close frame, no FIN, and no pong to the server's pings.
    const dave = await ws(url, 'dave')
    await dave.request({ op: 'sub', channel: 'room:2' })
    await eventAt(21)
    ;(dave.socket as unknown as { _socket: Socket })._socket.pause()
    const vanished = performance.now()
    const left = await eventAt(22)
    expect(events()[21]).toEqual({ event: 'leave', channel: 'room:2', client: 'dave' })
    // It is dropped at the second ping it leaves unanswered: after one interval, within two.
    expect(left - vanished).toBeGreaterThan(pingIntervalMs * 0.5)
    expect(left - vanished).toBeLessThan(pingIntervalMs * 2 + 1500)
  })
})
