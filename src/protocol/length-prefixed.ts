import { SwitchboardError } from './errors.js'

/** The TCP protocol's framing: a 4-byte big-endian length, then that many bytes of msgpack. */
export const LENGTH_BYTES = 4

export function lengthPrefix(length: number): Buffer {
  const head = Buffer.allocUnsafe(LENGTH_BYTES)
  head.writeUInt32BE(length, 0)
  return head
}

/**
 * Cuts a byte stream into frames. `push` returns the complete frames so far; a frame announced
 * larger than `maxFrameBytes` throws `payload_too_large` before any of it is buffered.
 */
export class FrameDecoder {
  readonly #max: number
  #chunks: Buffer[] = []
  #buffered = 0

  constructor(maxFrameBytes: number) {
    this.#max = maxFrameBytes
  }

  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
    const frames: Buffer[] = []
    for (;;) {
      if (this.#buffered < LENGTH_BYTES) break
      const head = this.#peek(LENGTH_BYTES)
      const length = head.readUInt32BE(0)
      if (length > this.#max)
        throw new SwitchboardError(
          'payload_too_large',
          `frame of ${length} bytes is over the limit of ${this.#max}`,
        )
      if (this.#buffered < LENGTH_BYTES + length) break
      frames.push(this.#take(LENGTH_BYTES + length).subarray(LENGTH_BYTES))
    }
    return frames
  }

  #peek(n: number): Buffer {
    if (this.#chunks[0].length < n) this.#chunks = [Buffer.concat(this.#chunks)]
    return this.#chunks[0]
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks)
    this.#chunks = all.length > n ? [all.subarray(n)] : []
    this.#buffered -= n
    return all.subarray(0, n)
  }
}
