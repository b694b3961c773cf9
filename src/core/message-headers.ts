import { SwitchboardError } from '../protocol/errors.js'
import type { MessageHeaders } from './message.js'

export const MAX_MESSAGE_HEADERS = 32
const HEADER_NAME = /^[A-Za-z0-9_.-]{1,64}$/
const MAX_HEADER_VALUE = 1024

/** Checks a message's headers: at most 32, names of [A-Za-z0-9_.-]{1,64}, string values up to 1 KiB. */
export function assertMessageHeaders(headers: unknown): MessageHeaders {
  if (headers === undefined || headers === null) return {}
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    throw new SwitchboardError('invalid_body', 'headers must be an object of strings')
  }
  const entries = Object.entries(headers)
  if (entries.length > MAX_MESSAGE_HEADERS) {
    throw new SwitchboardError('invalid_body', `a message has at most ${MAX_MESSAGE_HEADERS} headers`)
  }
  for (const [name, value] of entries) {
    if (!HEADER_NAME.test(name)) {
      throw new SwitchboardError(
        'invalid_body',
        `header name ${JSON.stringify(name)} must match [A-Za-z0-9_.-]{1,64}`,
      )
    }
    if (typeof value !== 'string' || value.length > MAX_HEADER_VALUE) {
      throw new SwitchboardError(
        'invalid_body',
        `header ${name} must be a string of at most ${MAX_HEADER_VALUE} characters`,
      )
    }
  }
  return headers as MessageHeaders
}
