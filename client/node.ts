/**
 * The Switchboard SDK for Node: the browser SDK with `ws` and `eventsource` as its transports and
 * undici's `request` for HTTP.
 */
import { EventSource } from 'eventsource'
import WebSocket from 'ws'
import { Client, type ClientOptions } from './client.js'
import { undiciSend } from './node-http.js'
import type { EventSourceConstructor, WebSocketConstructor } from './transports/transport.js'

export * from './index.js'

export function connect(url: string, options: ClientOptions = {}): Client {
  return new Client(url, {
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    EventSource: EventSource as unknown as EventSourceConstructor,
    send: undiciSend,
    ...options,
  })
}
export { TcpClient } from './tcp.js'
