import { SwitchboardError } from '../protocol/errors.js'

/** A JSON value as a stored payload: compact UTF-8 text. */
export function jsonPayload(value: unknown): Buffer {
  const text = JSON.stringify(value)
  if (text === undefined) throw new SwitchboardError('invalid_body', 'data must be a JSON value')
  return Buffer.from(text, 'utf8')
}

/** Checks that bytes are JSON text and returns them compact (no insignificant white space). */
export function compactJson(bytes: Uint8Array): Buffer {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new SwitchboardError('invalid_json', `body is not valid JSON: ${(error as Error).message}`)
  }
  return jsonPayload(value)
}

/** Base64 text as bytes, refusing anything that is not base64. */
export function base64Payload(text: unknown): Buffer {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
    throw new SwitchboardError('invalid_body', 'data_base64 must be a base64 string')
  }
  return Buffer.from(text, 'base64')
}
