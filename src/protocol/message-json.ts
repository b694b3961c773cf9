import type { MessageFields } from '../core/message.js'
import { isJsonContentType } from '../core/message.js'

/** A message as the JSON wire format carries it (API.md, Conventions). */
export interface WireMessage {
  channel: string
  offset: number
  id: string
  time: number
  headers: Record<string, string>
  /** The payload, when it was published as application/json. */
  data?: unknown
  /** The payload in base64, for every other content type. */
  data_base64?: string
  content_type?: string
}

/**
 * The JSON text of a message. JSON payloads are stored compact and spliced in as they are, so no
 * payload is parsed again to be sent.
 */
export function encodeMessageJson(m: MessageFields): string {
  const head =
    `{"channel":${JSON.stringify(m.channel)},"offset":${m.offset},"id":${JSON.stringify(m.id)},` +
    `"time":${m.time},"headers":${JSON.stringify(m.headers)}`
  const payload = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength)
  if (isJsonContentType(m.contentType)) return `${head},"data":${payload.toString('utf8')}}`
  return `${head},"data_base64":"${payload.toString('base64')}","content_type":${JSON.stringify(m.contentType)}}`
}

/** The JSON text of a list of already-encoded messages. */
export function joinJson(encoded: readonly string[]): string {
  return `[${encoded.join(',')}]`
}
