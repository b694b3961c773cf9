import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { postJson } from '../helpers/http.js'
import { type ServerProcess, spawnServer } from '../helpers/process.js'
import { tempDir } from '../helpers/tmp.js'
import { waitUntil } from '../helpers/wait.js'

const MESSAGES = 100_000
const BATCH = 1000
const PAYLOAD = 'p'.repeat(400)
/**
 * The bound this test states: while one WebSocket and one SSE subscriber read nothing during
 * 100,000 publishes of ~500-byte messages (about 50 MB of frames for each), the server's peak RSS
 * stays within this of its peak under the same load with no subscriber at all (the publish path's
 * own heap, grown first). Buffering what they miss would take over 100 MB.
 */
const RSS_GROWTH_BOUND = 32 * 1024 * 1024

let server: ServerProcess | undefined
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
  server?.child.kill('SIGKILL')
  server = undefined
})

const rssOf = (pid: number) =>
  1024 * Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])

/** A WebSocket subscriber that checks every offset arrives in order; its socket can be paused. */
async function wsSubscriber(url: string, channel: string) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, 'switchboard.v1.json')
  cleanups.push(() => ws.terminate())
  const state = { last: 0, outOfOrder: 0, subscribed: false }
  ws.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString('utf8')) as { op: string; offset?: number }
    if (frame.op === 'ok') state.subscribed = true
    if (frame.op !== 'msg') return
    if (frame.offset !== state.last + 1) state.outOfOrder += 1
    state.last = frame.offset as number
  })
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  ws.send(JSON.stringify({ op: 'sub', id: 1, channel }))
  await waitUntil(() => state.subscribed, { what: 'the subscription' })
  const socket = (ws as unknown as { _socket: Socket })._socket
  return { state, pause: () => socket.pause(), resume: () => socket.resume() }
}

/** An SSE subscriber over a bare HTTP request, counting `id:` lines; its response can be paused. */
async function sseSubscriber(url: string, channel: string) {
  const state = { last: 0, outOfOrder: 0 }
  let rest = ''
  const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const req = request(`${url}/v1/events?channel=${channel}&after=0`, resolve)
    req.on('error', reject).end()
    cleanups.push(() => req.destroy())
  })
  response.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n')
    rest = lines.pop() as string
    for (const line of lines) {
      if (!line.startsWith('id: ')) continue
      const offset = Number(line.slice(4))
      if (offset !== state.last + 1) state.outOfOrder += 1
      state.last = offset
    }
  })
  return { state, pause: () => response.pause(), resume: () => response.resume() }
}

describe('a subscriber that reads nothing', () => {
  it(`keeps the server's memory bounded over ${MESSAGES} messages, then gets all of them in order`, async () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    server = await spawnServer(['--data-dir', dir.path])
    const { url } = server
    const pid = server.child.pid as number
    /** Publishes MESSAGES to `channel` in batches; answers the server's peak RSS meanwhile. */
    const flood = async (channel: string) => {
      let peak = rssOf(pid)
      for (let sent = 0; sent < MESSAGES; sent += BATCH) {
        const messages = Array.from({ length: BATCH }, (_, i) => ({
          channel,
          data: { n: sent + i, PAYLOAD },
        }))
        expect((await postJson(`${url}/v1/publish`, { messages })).status).toBe(201)
        peak = Math.max(peak, rssOf(pid))
      }
      return peak
    }
    const unwatched = await flood('warm-up')

    const ws = await wsSubscriber(url, 'flood')
    const sse = await sseSubscriber(url, 'flood')
    ws.pause()
    sse.pause()
    const watched = await flood('flood')
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20)
    console.log(
      `server peak RSS: ${mb(unwatched)} MB unwatched, ${mb(watched)} MB with two stalled subscribers`,
    )
    expect(watched - unwatched).toBeLessThan(RSS_GROWTH_BOUND)

    ws.resume()
    sse.resume()
    await waitUntil(() => ws.state.last === MESSAGES && sse.state.last === MESSAGES, {
      timeoutMs: 60_000,
      everyMs: 50,
      what: `both subscribers to reach offset ${MESSAGES}`,
    })
    expect(ws.state.outOfOrder).toBe(0)
    expect(sse.state.outOfOrder).toBe(0)
  }, 120_000)
})
