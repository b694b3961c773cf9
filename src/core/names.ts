import { SwitchboardError } from '../protocol/errors.js'

export const MAX_NAME_LENGTH = 200
const NAME = /^[A-Za-z0-9._:-]{1,200}$/

export function isValidName(name: string): boolean {
  return NAME.test(name)
}

function assertName(name: string, what: 'channel' | 'queue'): string {
  if (isValidName(name)) return name
  throw new SwitchboardError(
    what === 'channel' ? 'invalid_channel' : 'invalid_queue',
    `${what} name must be 1-${MAX_NAME_LENGTH} characters of [A-Za-z0-9._:-], got ${JSON.stringify(name.slice(0, 210))}`,
  )
}

export function assertChannel(name: string): string {
  return assertName(name, 'channel')
}

export function assertQueue(name: string): string {
  return assertName(name, 'queue')
}

/** Channels whose name starts with `$` are written by the server itself (`$job:…`, `$presence:…`). */
export const RESERVED_PREFIX = '$'

/**
 * A channel a client may read or subscribe to: any valid name, or a valid name behind `$`.
 * Publishing still requires `assertChannel`, so clients cannot write to reserved channels.
 */
export function assertReadableChannel(name: string): string {
  if (name.startsWith(RESERVED_PREFIX) && isValidName(name.slice(1))) return name
  return assertChannel(name)
}
