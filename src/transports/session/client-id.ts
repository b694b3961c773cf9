import { randomBytes } from 'node:crypto'
import { SwitchboardError } from '../../protocol/errors.js'

const CLIENT_ID = /^[A-Za-z0-9._:@-]{1,200}$/

/** The `client` a connection gives for presence, or a generated one when it gives none. */
export function clientOf(given: string | null | undefined): string {
  // Base64url of random bytes is one flat string; a UUID string is a rope of some forty pieces
  // that every idle connection would keep (about 1.2 KB each).
  if (given === null || given === undefined || given === '')
    return `anon-${randomBytes(16).toString('base64url')}`
  if (!CLIENT_ID.test(given))
    throw new SwitchboardError('invalid_parameter', 'client must be 1-200 characters of [A-Za-z0-9._:@-]')
  return given
}
