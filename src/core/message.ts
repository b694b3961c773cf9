export type MessageHeaders = Readonly<Record<string, string>>

/** What a message is, independent of where it is stored or how it is sent. */
export interface MessageFields {
  readonly channel: string
  /** Position in the channel's log: 1, 2, 3 … with no gaps. */
  readonly offset: number
  readonly id: string
  /** Milliseconds since the epoch, set when the engine stored it. */
  readonly time: number
  readonly headers: MessageHeaders
  readonly contentType: string
  readonly payload: Uint8Array
}

/**
 * A stored message. Transports ask it for their wire form through `encoded`, which computes each
 * form once and hands the same bytes to every subscriber.
 */
export class Message implements MessageFields {
  readonly channel: string
  readonly offset: number
  readonly id: string
  readonly time: number
  readonly headers: MessageHeaders
  readonly contentType: string
  readonly payload: Uint8Array
  #encodings: Map<string, unknown> | undefined

  constructor(fields: MessageFields) {
    this.channel = fields.channel
    this.offset = fields.offset
    this.id = fields.id
    this.time = fields.time
    this.headers = fields.headers
    this.contentType = fields.contentType
    this.payload = fields.payload
  }

  /** The message's form under `key`, computed by `encode` on first use and kept. */
  encoded<T>(key: string, encode: (message: Message) => T): T {
    this.#encodings ??= new Map()
    if (this.#encodings.has(key)) return this.#encodings.get(key) as T
    const value = encode(this)
    this.#encodings.set(key, value)
    return value
  }
}

export const JSON_CONTENT_TYPE = 'application/json'

/** `application/json`, with or without parameters such as charset. */
export function isJsonContentType(contentType: string): boolean {
  const semi = contentType.indexOf(';')
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
  return type === JSON_CONTENT_TYPE
}

/** Messages grouped by channel, each group in the order given. */
export function groupByChannel<M extends { readonly channel: string }>(
  messages: Iterable<M>,
): Map<string, M[]> {
  const groups = new Map<string, M[]>()
  for (const message of messages) {
    const group = groups.get(message.channel)
    if (group) group.push(message)
    else groups.set(message.channel, [message])
  }
  return groups
}

/** A page of a channel's log: what a poll answers. `next` is the offset to pass as `after` next time. */
export interface ReadBatch {
  readonly channel: string
  readonly messages: readonly Message[]
  readonly next: number
}

export function readBatch(channel: string, after: number, messages: readonly Message[]): ReadBatch {
  return { channel, messages, next: messages.length > 0 ? messages[messages.length - 1].offset : after }
}
