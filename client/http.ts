import { ConnectionError, errorFor } from './errors.js'
import type { WireMessage } from './message.js'

export type Fetch = typeof globalThis.fetch

/** One HTTP exchange, as `HttpApi` needs it. */
export interface SendInit {
  readonly method: string
  readonly headers: Record<string, string>
  readonly body?: string | Uint8Array
  readonly signal?: AbortSignal
}

export interface Exchanged {
  readonly status: number
  readonly statusText: string
  text(): Promise<string>
}

/** Sends one request: `fetch` by default; the Node entry point plugs in undici's leaner `request`. */
export type Send = (url: string, init: SendInit) => Promise<Exchanged>

/** A `Send` over a fetch function (the global one by default). */
export function fetchSend(fetchImpl?: Fetch): Send {
  // Browsers refuse a fetch called with another `this` than the window.
  const send = fetchImpl ?? ((input, init) => globalThis.fetch(input, init))
  return (url, init) => send(url, init as RequestInit)
}

export interface RequestOptions {
  readonly method?: string
  readonly query?: Record<string, string | number | undefined>
  readonly body?: unknown
  readonly headers?: Record<string, string>
  readonly signal?: AbortSignal
}

export interface HttpAnswer<T> {
  readonly status: number
  readonly body: T
}

/** JSON over HTTP to one server; problem+json answers become typed errors. */
export class HttpApi {
  readonly baseUrl: string
  readonly #send: Send
  readonly #headers: Record<string, string>

  constructor(baseUrl: string, send: Send, headers: Record<string, string> = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '')
    this.#send = send
    this.#headers = headers
  }

  url(path: string, query: RequestOptions['query'] = {}): string {
    const params = new URLSearchParams()
    for (const [name, value] of Object.entries(query))
      if (value !== undefined) params.set(name, String(value))
    const search = params.toString()
    return `${this.baseUrl}${path}${search ? `?${search}` : ''}`
  }

  async request<T>(path: string, options: RequestOptions = {}): Promise<HttpAnswer<T>> {
    const headers: Record<string, string> = { ...this.#headers, ...options.headers }
    let body: string | Uint8Array | undefined
    if (options.body instanceof Uint8Array) body = options.body
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body)
      headers['content-type'] ??= 'application/json'
    }
    let response: Exchanged
    try {
      response = await this.#send(this.url(path, options.query), {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        body,
        signal: options.signal,
      })
    } catch (error) {
      if (options.signal?.aborted) throw error
      throw new ConnectionError(
        'connection_failed',
        `cannot reach ${this.baseUrl}: ${(error as Error).message}`,
      )
    }
    const text = await response.text()
    const parsed = text === '' ? undefined : parseJson(text)
    if (response.status < 200 || response.status > 299) {
      const problem = (parsed ?? {}) as Record<string, unknown>
      const code = typeof problem.code === 'string' ? problem.code : `http_${response.status}`
      const detail = typeof problem.detail === 'string' ? problem.detail : response.statusText
      throw errorFor(code, detail, response.status, problem)
    }
    return { status: response.status, body: parsed as T }
  }

  /** Reads a channel: short poll, or long poll when `wait` (seconds) is given. */
  async read(
    channel: string,
    after: number,
    options: { limit?: number; wait?: number; signal?: AbortSignal } = {},
  ): Promise<{ messages: WireMessage[]; next: number }> {
    const answer = await this.request<{ messages: WireMessage[]; next: number }>(
      `/v1/channels/${encodeURIComponent(channel)}/messages`,
      { query: { after, limit: options.limit, wait: options.wait }, signal: options.signal },
    )
    return answer.body
  }

  /** The offset of the newest message of a channel; 0 when it has none. */
  async lastOffset(channel: string): Promise<number> {
    try {
      const answer = await this.request<{ last_offset: number }>(
        `/v1/channels/${encodeURIComponent(channel)}`,
      )
      return answer.body.last_offset
    } catch (error) {
      if ((error as { code?: string }).code === 'not_found') return 0
      throw error
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return { detail: text }
  }
}
