import { SwitchboardError } from '../../protocol/errors.js'

export interface SubmitOptions {
  readonly data: unknown
  readonly maxAttempts: number
  readonly delayMs: number
  readonly timeoutMs: number | null
}

const MAX_ATTEMPTS = 100
const MAX_DELAY_MS = 365 * 24 * 3600 * 1000

function wholeNumber(
  body: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = body[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw new SwitchboardError('invalid_parameter', `${name} must be a whole number from ${min} to ${max}`)
  return value
}

/** API.md's submit body: `{"data", "max_attempts"?, "delay_ms"?, "timeout_ms"?}`. */
export function submitOptions(body: unknown, maxDataBytes: number): SubmitOptions {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new SwitchboardError('invalid_body', 'a job is submitted as {"data": …}')
  const fields = body as Record<string, unknown>
  const known = new Set(['data', 'max_attempts', 'delay_ms', 'timeout_ms'])
  const unknown = Object.keys(fields).filter((k) => !known.has(k))
  if (unknown.length > 0) throw new SwitchboardError('invalid_body', `unknown field ${unknown[0]}`)
  const data = fields.data ?? null
  const bytes = Buffer.byteLength(JSON.stringify(data))
  if (bytes > maxDataBytes)
    throw new SwitchboardError(
      'payload_too_large',
      `job data of ${bytes} bytes is over the limit of ${maxDataBytes}`,
    )
  return {
    data,
    maxAttempts: wholeNumber(fields, 'max_attempts', 1, MAX_ATTEMPTS) ?? 3,
    delayMs: wholeNumber(fields, 'delay_ms', 0, MAX_DELAY_MS) ?? 0,
    timeoutMs: wholeNumber(fields, 'timeout_ms', 100, MAX_DELAY_MS) ?? null,
  }
}

/** A lease duration asked by a worker: at least 100 ms, at most the configured maximum. */
export function leaseMs(value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 100)
    throw new SwitchboardError('invalid_parameter', 'lease_ms must be a whole number ≥ 100')
  return Math.min(value, max)
}
