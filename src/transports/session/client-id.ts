import { randomUUID } from 'node:crypto'
import { SwitchboardError } from '../../protocol/errors.js'

const CLIENT_ID = /^[A-Za-z0-9._:@-]{1,200}$/

/** The `client` a connection gives for presence, or a generated one when it gives none. */
export function clientOf(given: string | null | undefined): string {
  if (given === null || given === undefined || given === '') return `anon-${randomUUID()}`
  if (!CLIENT_ID.test(given))
    throw new SwitchboardError('invalid_parameter', 'client must be 1-200 characters of [A-Za-z0-9._:@-]')
  return given
}
