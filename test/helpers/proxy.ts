import http from 'node:http'
import { type AddressInfo, connect } from 'node:net'

export interface TestProxy {
  readonly url: string
  close(): Promise<void>
}

/**
 * A forwarding HTTP proxy on 127.0.0.1 that can refuse what some networks refuse: WebSocket
 * upgrades, and event streams (`/v1/events`).
 */
export async function startProxy(
  target: string,
  refuse: { websocket?: boolean; sse?: boolean },
): Promise<TestProxy> {
  const to = new URL(target)
  const server = http.createServer((req, res) => {
    if (refuse.sse && req.url?.startsWith('/v1/events')) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('event streams are not allowed here')
      return
    }
    const upstream = http.request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', () => res.destroy())
    res.on('close', () => upstream.destroy())
    req.pipe(upstream)
  })
  server.on('upgrade', (req, socket, head) => {
    if (refuse.websocket) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    // Pass the upgrade through: the request head, then bytes both ways.
    const upstream = connect(Number(to.port), to.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`]
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
      if (head.length > 0) upstream.write(head)
      upstream.pipe(socket).pipe(upstream)
    })
    upstream.on('error', () => socket.destroy())
    socket.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
