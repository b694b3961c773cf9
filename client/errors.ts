import { isErrorCode, problems } from '../src/protocol/errors.js'

/** A failure the server answered with a contract `code` (API.md), or a connection failure. */
export class SwitchboardError extends Error {
  /** The stable code of API.md, e.g. `not_found`, `lease_expired`, `timeout`. */
  readonly code: string
  /** The HTTP status, or 0 when no HTTP answer was involved. */
  readonly status: number
  /** The whole problem document, when the server sent one. */
  readonly problem: Readonly<Record<string, unknown>> | undefined

  constructor(code: string, message: string, status = 0, problem?: Record<string, unknown>) {
    super(message)
    this.name = new.target.name
    this.code = code
    this.status = status
    this.problem = problem
  }
}

/** The request was refused as invalid (400, 413, 415, 431): retrying it unchanged will not help. */
export class InvalidRequestError extends SwitchboardError {}
export class NotFoundError extends SwitchboardError {}
/** A worker call whose lease expired or was never held (409 `lease_expired`). */
export class LeaseExpiredError extends SwitchboardError {}
/** The wait ended with no answer (504 `timeout`); an RPC's job has been cancelled. */
export class TimeoutError extends SwitchboardError {}
/** The worker answering an RPC failed (502 `worker_failed`); `error` is what it reported. */
export class WorkerFailedError extends SwitchboardError {
  get error(): unknown {
    return this.problem?.error
  }
}
/** The server is unavailable, overloaded, shutting down or rate limiting: retry later. */
export class UnavailableError extends SwitchboardError {}
export class UnauthorizedError extends SwitchboardError {}
/** No connection to the server could be made or kept. */
export class ConnectionError extends SwitchboardError {}

/** Codes whose kind their status alone does not tell. */
const byCode: Record<string, typeof SwitchboardError> = {
  not_found: NotFoundError,
  lease_expired: LeaseExpiredError,
  timeout: TimeoutError,
  worker_failed: WorkerFailedError,
  unauthorized: UnauthorizedError,
  forbidden: UnauthorizedError,
}

/**
 * The typed error for a contract code. Without an HTTP status (an error frame over WebSocket or
 * TCP) the code's own status in the contract decides: 503 and 429 are retryable, other 4xx are not.
 */
export function errorFor(code: string, message: string, status = 0, problem?: Record<string, unknown>) {
  const kind = status || (isErrorCode(code) ? problems[code].status : 0)
  const Type =
    byCode[code] ??
    (kind === 503 || kind === 429
      ? UnavailableError
      : kind >= 400 && kind < 500
        ? InvalidRequestError
        : SwitchboardError)
  return new Type(code, message, status, problem)
}

/** Whether trying again later may succeed. */
export function isRetryable(error: unknown): boolean {
  return error instanceof UnavailableError || error instanceof ConnectionError
}

/** A job ended `failed`; `error` is what its last attempt reported, `job` the whole job. */
export class JobFailedError extends SwitchboardError {}
/** A job ended `cancelled`. */
export class JobCancelledError extends SwitchboardError {}
