import { connect as connectTcp, type Socket } from 'node:net'
import { type ConnectionOptions, connect as connectTls } from 'node:tls'
import { afterAll, describe, expect, it } from 'vitest'
import { call, clientFrom } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { selfSignedCert } from '../helpers/tls.js'
import { tempDir } from '../helpers/tmp.js'
import { waitUntil } from '../helpers/wait.js'

const LIMIT = 2
const servers: TestServer[] = []
const sockets: Socket[] = []
const dir = tempDir('switchboard-limit-')
afterAll(async () => {
  for (const socket of sockets) socket.destroy()
  await Promise.all(servers.map((server) => server.stop()))
  dir.remove()
})

/** What became of a connection from `localAddress`: open (kept for the test), or what it was told. */
function plain(port: number, localAddress: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connectTcp({ port, host: '127.0.0.1', localAddress })
    sockets.push(socket)
    let heard = ''
    socket.on('data', (chunk) => {
      heard += chunk
    })
    socket.on('error', () => undefined)
    socket.on('close', () => resolve(heard.split('\r\n')[0] || 'closed'))
    // A request a live connection answers; a refused one was answered before it.
    socket.on('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'))
    socket.on('data', () => {
      if (heard.includes('"status":"ok"')) resolve('open')
    })
  })
}

function secure(port: number, localAddress: string): Promise<string> {
  return new Promise((resolve) => {
    // tls.connect takes net's connect options too (localAddress among them), though its type omits them.
    const options = { port, host: '127.0.0.1', localAddress, rejectUnauthorized: false }
    const socket = connectTls(options as ConnectionOptions)
    sockets.push(socket)
    socket.on('secureConnect', () => resolve('open'))
    socket.on('error', () => undefined)
    socket.on('close', () => resolve('closed'))
  })
}

describe('--max-connections-per-client', () => {
  it('refuses a client address its connection past the limit with 429, and no other address', async () => {
    const server = await startTestServer({ limits: { maxConnectionsPerClient: LIMIT } })
    servers.push(server)
    const port = Number(new URL(server.url).port)
    expect(await plain(port, '127.0.0.1')).toBe('open')
    expect(await plain(port, '127.0.0.1')).toBe('open')
    expect(await plain(port, '127.0.0.1')).toBe('HTTP/1.1 429 Too Many Requests')
    expect(await plain(port, '127.0.0.2')).toBe('open')
    // The refused connection is gone once its client closed: three held, and this one asking.
    const observer = clientFrom('127.0.0.3')
    try {
      await waitUntil(
        async () =>
          (await call<{ connections: number }>(`${server.url}/v1/stats`, { dispatcher: observer })).body
            .connections === 4,
        { what: 'the refused connection to close' },
      )
    } finally {
      await observer.close()
    }
  })

  it('holds on the TLS port too', async () => {
    const server = await startTestServer({
      limits: { maxConnectionsPerClient: LIMIT },
      tls: selfSignedCert(dir.path),
    })
    servers.push(server)
    const port = Number(new URL(server.url).port)
    expect(await secure(port, '127.0.0.1')).toBe('open')
    expect(await secure(port, '127.0.0.1')).toBe('open')
    expect(await secure(port, '127.0.0.1')).toBe('closed')
    expect(await secure(port, '127.0.0.2')).toBe('open')
  })
})
