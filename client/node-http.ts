import { setMaxListeners } from 'node:events'
import { STATUS_CODES } from 'node:http'
import { type Dispatcher, request } from 'undici'
import type { Send } from './http.js'

/**
 * HTTP for the Node SDK: undici's `request`, on the same connection pool as Node's `fetch` but
 * without the WHATWG Request, Headers and stream objects that make each fetch cost several times
 * more CPU, which matters to a worker or an RPC caller sending thousands of requests a second.
 */
export const undiciSend: Send = async (url, init) => {
  // One signal may stop many requests in flight (a worker's claims); each removes its listener.
  if (init.signal) setMaxListeners(0, init.signal)
  const answer = await request(url, {
    method: init.method as Dispatcher.HttpMethod,
    headers: init.headers,
    body: init.body,
    signal: init.signal,
  })
  const text = await answer.body.text()
  return {
    status: answer.statusCode,
    statusText: STATUS_CODES[answer.statusCode] ?? '',
    text: async () => text,
  }
}
