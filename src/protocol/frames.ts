import { Packr } from 'msgpackr'
import { isJsonContentType, type Message } from '../core/message.js'
import { SwitchboardError } from './errors.js'
import { encodeMessageJson } from './message-json.js'

/** A frame a client sends over WebSocket or TCP, once decoded. */
export interface ClientFrame {
  readonly op: string
  readonly id?: unknown
  readonly channel?: unknown
  readonly after?: unknown
  readonly data?: unknown
  readonly content_type?: unknown
}

/** A frame the server sends, other than `msg`. */
export type ServerFrame = { readonly op: string; readonly id?: unknown } & Record<string, unknown>

export type Encoded = string | Uint8Array

/** How frames travel on one wire: `json` as text, `msgpack` as binary. The same fields either way. */
export interface FrameCodec {
  readonly name: 'json' | 'msgpack'
  decode(data: Encoded): ClientFrame
  encode(frame: ServerFrame): Encoded
  /** A message as a `msg` frame, computed once per message and shared by every subscriber. */
  message(message: Message): Encoded
}

function asFrame(value: unknown): ClientFrame {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SwitchboardError('invalid_frame', 'a frame is an object with an "op"')
  if (typeof (value as { op?: unknown }).op !== 'string')
    throw new SwitchboardError('invalid_frame', 'a frame needs a string "op"')
  return value as ClientFrame
}

export const jsonCodec: FrameCodec = {
  name: 'json',
  decode(data) {
    const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8')
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      throw new SwitchboardError('invalid_json', `frame is not valid JSON: ${(error as Error).message}`)
    }
    return asFrame(value)
  },
  encode: (frame) => JSON.stringify(frame),
  message: (message) => message.encoded('ws-json', (m) => `{"op":"msg",${encodeMessageJson(m).slice(1)}`),
}

// Plain maps, no records extension: any msgpack library on the other end reads the frames.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true })

export const msgpackCodec: FrameCodec = {
  name: 'msgpack',
  decode(data) {
    if (typeof data === 'string') throw new SwitchboardError('invalid_frame', 'msgpack frames are binary')
    let value: unknown
    try {
      value = packr.unpack(data)
    } catch (error) {
      throw new SwitchboardError('invalid_frame', `frame is not valid msgpack: ${(error as Error).message}`)
    }
    return asFrame(value)
  },
  encode: (frame) => packr.pack(frame),
  message: (message) =>
    message.encoded('msgpack', (m) => {
      const payload = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength)
      const fields = {
        op: 'msg',
        channel: m.channel,
        offset: m.offset,
        id: m.id,
        time: m.time,
        headers: m.headers,
      }
      if (isJsonContentType(m.contentType))
        return packr.pack({ ...fields, data: JSON.parse(payload.toString('utf8')) })
      return packr.pack({ ...fields, data: payload, content_type: m.contentType })
    }),
}

export const WS_SUBPROTOCOLS: Readonly<Record<string, FrameCodec>> = {
  'switchboard.v1.json': jsonCodec,
  'switchboard.v1.msgpack': msgpackCodec,
}
