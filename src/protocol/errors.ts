/**
 * The stable error codes of the wire contract, shared by every transport and by the client SDK.
 * HTTP answers them as RFC 9457 problem+json; WS/TCP carry the same `code` in error frames.
 */
export const problems = {
  invalid_channel: { status: 400, title: 'Invalid channel name' },
  invalid_queue: { status: 400, title: 'Invalid queue name' },
  invalid_parameter: { status: 400, title: 'Invalid parameter' },
  invalid_json: { status: 400, title: 'Malformed JSON' },
  invalid_body: { status: 400, title: 'Invalid request body' },
  invalid_frame: { status: 400, title: 'Invalid frame' },
  unknown_op: { status: 400, title: 'Unknown operation' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  request_timeout: { status: 408, title: 'Request timeout' },
  lease_expired: { status: 409, title: 'Lease expired or not held' },
  conflict: { status: 409, title: 'Conflict' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  too_many_subscriptions: { status: 429, title: 'Too many subscriptions' },
  rate_limited: { status: 429, title: 'Too many requests' },
  headers_too_large: { status: 431, title: 'Request header fields too large' },
  internal: { status: 500, title: 'Internal server error' },
  worker_failed: { status: 502, title: 'The worker failed' },
  unavailable: { status: 503, title: 'Service unavailable' },
  engine_unavailable: { status: 503, title: 'Storage engine unavailable' },
  overloaded: { status: 503, title: 'Server overloaded' },
  shutting_down: { status: 503, title: 'Server shutting down' },
  timeout: { status: 504, title: 'Timed out' },
  slow_consumer: { status: 503, title: 'Subscriber too slow' },
} as const satisfies Record<string, { status: number; title: string }>

export type ErrorCode = keyof typeof problems

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(problems, code)
}

/** The `type` URI of a problem: stable, one per code. */
export function problemType(code: ErrorCode): string {
  return `urn:switchboard:problem:${code}`
}

/** An error that carries a contract code; anything else reaching a transport is `internal`. */
export class SwitchboardError extends Error {
  readonly code: ErrorCode
  readonly extra: Readonly<Record<string, unknown>> | undefined

  constructor(code: ErrorCode, message: string, extra?: Record<string, unknown>) {
    super(message)
    this.name = 'SwitchboardError'
    this.code = code
    this.extra = extra
  }

  get status(): number {
    return problems[this.code].status
  }
}

/** An RFC 9457 problem document, with the contract's `code`. */
export interface Problem {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly code: ErrorCode
  readonly detail: string
  readonly [extension: string]: unknown
}

export function problemOf(
  code: ErrorCode,
  detail: string,
  extra?: Readonly<Record<string, unknown>>,
): Problem {
  const { status, title } = problems[code]
  return { type: problemType(code), title, status, code, detail, ...extra }
}
