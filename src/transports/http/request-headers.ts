import type { IncomingHttpHeaders } from 'node:http'
import type { MessageHeaders } from '../../core/message.js'
import { assertMessageHeaders } from '../../core/message-headers.js'
import { SwitchboardError } from '../../protocol/errors.js'

/** Request headers `Switchboard-Header-<name>: value` become the message's headers (names lowercased). */
export const MESSAGE_HEADER_PREFIX = 'switchboard-header-'

export function messageHeadersOf(headers: IncomingHttpHeaders): MessageHeaders {
  let found: Record<string, string> | undefined
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(MESSAGE_HEADER_PREFIX) || value === undefined) continue
    found ??= {}
    found[name.slice(MESSAGE_HEADER_PREFIX.length)] = Array.isArray(value) ? value.join(', ') : value
  }
  return found ? assertMessageHeaders(found) : {}
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/

export function idempotencyKeyOf(headers: IncomingHttpHeaders): string | undefined {
  const key = headers['idempotency-key']
  if (key === undefined) return undefined
  if (Array.isArray(key) || !IDEMPOTENCY_KEY.test(key)) {
    throw new SwitchboardError('invalid_parameter', 'Idempotency-Key must be 1-255 visible ASCII characters')
  }
  return key
}
