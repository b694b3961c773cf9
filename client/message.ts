/** A message as the SDK hands it to subscribers. */
export interface ChannelMessage<T = unknown> {
  readonly channel: string
  readonly offset: number
  readonly id: string
  readonly time: number
  readonly headers: Readonly<Record<string, string>>
  /** The payload of a message published as JSON; undefined for binary payloads. */
  readonly data: T
  /** The raw payload of a message not published as JSON. */
  readonly bytes?: Uint8Array
  readonly contentType: string
}

/** A message in the JSON wire format (API.md, Conventions), or its msgpack twin. */
export interface WireMessage {
  channel: string
  offset: number
  id: string
  time: number
  headers?: Record<string, string>
  data?: unknown
  data_base64?: string
  content_type?: string
}

export function fromWire<T = unknown>(wire: WireMessage): ChannelMessage<T> {
  const base = {
    channel: wire.channel,
    offset: wire.offset,
    id: wire.id,
    time: wire.time,
    headers: wire.headers ?? {},
  }
  if (wire.data_base64 !== undefined) {
    return {
      ...base,
      data: undefined as T,
      bytes: fromBase64(wire.data_base64),
      contentType: wire.content_type ?? 'application/octet-stream',
    }
  }
  if (wire.data instanceof Uint8Array) {
    return {
      ...base,
      data: undefined as T,
      bytes: wire.data,
      contentType: wire.content_type ?? 'application/octet-stream',
    }
  }
  return { ...base, data: wire.data as T, contentType: 'application/json' }
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}
