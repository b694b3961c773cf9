import { SwitchboardError } from '../../protocol/errors.js'

type Query = Readonly<Record<string, string | string[] | undefined>>

function single(query: Query, name: string): string | undefined {
  const value = query[name]
  if (Array.isArray(value)) throw new SwitchboardError('invalid_parameter', `${name} is given more than once`)
  return value
}

/** A non-negative integer parameter, or the fallback when absent. */
export function intParam(query: Query, name: string, fallback: number, min = 0): number {
  const value = single(query, name)
  if (value === undefined) return fallback
  if (!/^\d{1,16}$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new SwitchboardError(
      'invalid_parameter',
      `${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`,
    )
  }
  return Number(value)
}

/** A duration in seconds (fractions allowed), as milliseconds. */
export function secondsParam(query: Query, name: string, fallback: number): number {
  const value = single(query, name)
  if (value === undefined) return fallback
  if (!/^\d{1,9}(\.\d{1,6})?$/.test(value)) {
    throw new SwitchboardError(
      'invalid_parameter',
      `${name} must be a number of seconds ≥ 0, got ${JSON.stringify(value)}`,
    )
  }
  return Math.round(Number(value) * 1000)
}

/** `true` or `false` (also `1` or `0`), or the fallback when absent. */
export function boolParam(query: Query, name: string, fallback: boolean): boolean {
  const value = single(query, name)
  if (value === undefined) return fallback
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw new SwitchboardError(
    'invalid_parameter',
    `${name} must be true or false, got ${JSON.stringify(value)}`,
  )
}

export function stringParam(query: Query, name: string): string | undefined {
  return single(query, name)
}

export function stringListParam(query: Query, name: string): string[] {
  const value = query[name]
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}
