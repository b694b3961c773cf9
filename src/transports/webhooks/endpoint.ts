import { Pool } from 'undici'
import type { Message } from '../../core/message.js'
import type { WebhookSettings } from '../../core/namespaces.js'
import { encodeMessageJson } from '../../protocol/message-json.js'
import { signatureHeader } from './signature.js'
import { Slots } from './slots.js'

/** Requests in flight to one endpoint at most: one per channel being delivered, the rest wait. */
export const ENDPOINT_CONNECTIONS = 16

/** Bytes of a receiver's answer read before the connection is dropped: only the status counts. */
const MAX_ANSWER_BYTES = 64 * 1024

/** One webhook: the namespace pattern it serves, its URL, and a bounded connection pool to it. */
export class Endpoint {
  readonly pattern: string
  readonly settings: WebhookSettings
  /** Bounds the channels delivering at once, so the pool's queue stays short. */
  readonly slots = new Slots(ENDPOINT_CONNECTIONS)
  readonly #pool: Pool
  readonly #path: string
  /** `Authorization: Basic …` from credentials in the URL, if any. */
  readonly #authorization: Record<string, string>

  constructor(pattern: string, settings: WebhookSettings) {
    this.pattern = pattern
    this.settings = settings
    const url = new URL(settings.url)
    this.#path = `${url.pathname}${url.search}`
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
    this.#authorization = url.username
      ? { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` }
      : {}
    this.#pool = new Pool(url.origin, {
      connections: ENDPOINT_CONNECTIONS,
      connectTimeout: settings.timeoutMs,
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
    })
  }

  /** The URL without credentials, for logs and the status route. */
  get displayUrl(): string {
    const url = new URL(this.settings.url)
    url.username = ''
    url.password = ''
    return url.href
  }

  /** POSTs one message, signed; resolves on a 2xx answer, rejects with the reason otherwise. */
  async post(message: Message, attempt: number, signal: AbortSignal): Promise<void> {
    const body = message.encoded('json', encodeMessageJson)
    const time = Date.now()
    const answer = await this.#pool.request({
      path: this.#path,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'switchboard-webhooks/1',
        'switchboard-message-id': message.id,
        'switchboard-channel': message.channel,
        'switchboard-offset': String(message.offset),
        'switchboard-attempt': String(attempt),
        'switchboard-signature': signatureHeader(this.settings.secret, time, body),
        ...this.#authorization,
      },
      body,
      // The pool's connect, headers and body timeouts bound each phase; no timer per request.
      signal,
    })
    await answer.body.dump({ limit: MAX_ANSWER_BYTES }).catch(() => undefined)
    if (answer.statusCode < 200 || answer.statusCode > 299) {
      throw new Error(`answered HTTP ${answer.statusCode}`)
    }
  }

  async close(): Promise<void> {
    await this.#pool.destroy()
  }
}

/** A delivery failure in a few words: `ECONNREFUSED: connect …`, `answered HTTP 500`, `timed out`. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  if (error.name === 'TimeoutError' || /TIMEOUT/.test(String((error as NodeJS.ErrnoException).code))) {
    return `timed out (${error.message})`
  }
  const code = (error as NodeJS.ErrnoException).code
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message
}
