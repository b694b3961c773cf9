import net from 'node:net'
import { Agent, type Dispatcher, request } from 'undici'
import { waitUntil } from './wait.js'

export interface JsonResponse<T = unknown> {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: T
  text: string
}

/** One HTTP request with undici; the body is parsed as JSON when it is JSON. */
export async function call<T = Record<string, unknown>>(
  url: string,
  options: {
    method?: string
    body?: string | Buffer
    headers?: Record<string, string>
    signal?: AbortSignal
    /** Another client than the default one (its own connections). */
    dispatcher?: Dispatcher
  } = {},
): Promise<JsonResponse<T>> {
  const res = await request(url, {
    method: (options.method ?? (options.body === undefined ? 'GET' : 'POST')) as 'GET',
    body: options.body,
    headers: options.headers,
    signal: options.signal,
    dispatcher: options.dispatcher,
  })
  const text = await res.body.text()
  const type = String(res.headers['content-type'] ?? '')
  const body = (type.includes('json') && text ? JSON.parse(text) : text) as T
  return { status: res.statusCode, headers: res.headers, body, text }
}

export function postJson<T = Record<string, unknown>>(
  url: string,
  value: unknown,
  headers: Record<string, string> = {},
) {
  return call<T>(url, {
    method: 'POST',
    body: JSON.stringify(value),
    headers: { 'content-type': 'application/json', ...headers },
  })
}

/** An HTTP client whose connections come from `address` (any of 127.0.0.0/8 reaches a local server). */
export function clientFrom(address: string): Agent {
  return new Agent({
    connect: (options, callback) => {
      const socket = net.connect({
        host: options.hostname,
        port: Number(options.port),
        localAddress: address,
      })
      socket.once('connect', () => callback(null, socket)).once('error', (error) => callback(error, null))
      return socket
    },
  })
}

/** Reads a streamed body (SSE) until `done(text so far)` holds, then stops reading; answers the text. */
export async function readUntil(
  response: Response,
  done: (text: string) => boolean,
  what: string,
): Promise<string> {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  try {
    await waitUntil(
      async () => {
        text += decoder.decode((await reader.read()).value, { stream: true })
        return done(text)
      },
      { what },
    )
  } finally {
    await reader.cancel()
  }
  return text
}
