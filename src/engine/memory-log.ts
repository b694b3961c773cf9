import type { ChannelInfo, Coordinates } from '../core/engine.js'
import { Message, type MessageFields } from '../core/message.js'
import type { ChannelSettings } from '../core/namespaces.js'

/** One channel's log held in memory: the memory engine's store and SQLite's ephemeral channels. */
export class MemoryLog {
  readonly channel: string
  #messages: Message[] = []
  #head = 0
  #last = 0
  #bytes = 0

  constructor(channel: string) {
    this.channel = channel
  }

  get lastOffset(): number {
    return this.#last
  }

  append(fields: Omit<MessageFields, 'channel' | 'offset'>): Message {
    this.#last += 1
    const message = new Message({
      ...fields,
      payload: standalone(fields.payload),
      channel: this.channel,
      offset: this.#last,
    })
    this.#messages.push(message)
    this.#bytes += message.payload.byteLength
    return message
  }

  read(after: number, limit: number): Message[] {
    const first = this.firstOffset
    const start = this.#head + Math.max(0, after - first + 1)
    return this.#messages.slice(start, Math.min(start + limit, this.#messages.length))
  }

  get firstOffset(): number {
    return this.#messages.length > this.#head ? this.#messages[this.#head].offset : this.#last + 1
  }

  info(): ChannelInfo {
    return {
      channel: this.channel,
      firstOffset: this.firstOffset,
      lastOffset: this.#last,
      messages: this.#messages.length - this.#head,
      bytes: this.#bytes,
    }
  }

  /** Drops what retention no longer keeps, oldest first. */
  trim(settings: ChannelSettings, now: number): void {
    const ageLimit = settings.maxAgeMs > 0 ? now - settings.maxAgeMs : Number.NEGATIVE_INFINITY
    while (this.#head < this.#messages.length) {
      const oldest = this.#messages[this.#head]
      const overCount = this.#messages.length - this.#head > settings.maxMessages
      if (!overCount && oldest.time >= ageLimit) break
      this.#bytes -= oldest.payload.byteLength
      this.#head += 1
    }
    if (this.#head > 1024 && this.#head * 2 > this.#messages.length) {
      this.#messages = this.#messages.slice(this.#head)
      this.#head = 0
    }
  }
}

/**
 * A payload that owns its memory. Small buffers are often slices of a shared 8 KiB pool; keeping a
 * slice in a long-lived log would keep the whole pool slab alive.
 */
function standalone(payload: Uint8Array): Uint8Array {
  if (payload.byteLength === payload.buffer.byteLength) return payload
  const copy = Buffer.allocUnsafeSlow(payload.byteLength)
  copy.set(payload)
  return copy
}

/** Idempotency keys with expiry, swept as new keys arrive. */
export class MemoryIdempotency {
  readonly #entries = new Map<string, { coordinates: readonly Coordinates[]; expiresAt: number }>()
  #nextSweep = 0

  get(scope: string, key: string, now: number): readonly Coordinates[] | undefined {
    const entry = this.#entries.get(`${scope}\n${key}`)
    return entry && entry.expiresAt > now ? entry.coordinates : undefined
  }

  set(scope: string, key: string, coordinates: readonly Coordinates[], expiresAt: number, now: number): void {
    this.#entries.set(`${scope}\n${key}`, { coordinates, expiresAt })
    if (now >= this.#nextSweep) {
      this.#nextSweep = now + 60_000
      for (const [k, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(k)
    }
  }
}
