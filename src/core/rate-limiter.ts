/**
 * Token buckets by key (a client address): `rate` tokens per second up to `burst`. Buckets idle long
 * enough to be full are dropped, so memory follows the number of active clients.
 */
export class RateLimiter {
  readonly #rate: number
  readonly #burst: number
  readonly #buckets = new Map<string, { tokens: number; at: number }>()
  #nextSweep = 0

  constructor(ratePerSecond: number, burst: number) {
    this.#rate = ratePerSecond
    this.#burst = Math.max(1, burst || ratePerSecond)
  }

  /** Takes one token for `key`; false when the bucket is empty. */
  take(key: string, now = Date.now()): boolean {
    this.#sweep(now)
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, at: now }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate)
    bucket.at = now
    this.#buckets.set(key, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** Seconds until `key` has a token again. */
  retryAfter(key: string): number {
    const bucket = this.#buckets.get(key)
    if (!bucket || bucket.tokens >= 1) return 0
    return Math.ceil((1 - bucket.tokens) / this.#rate)
  }

  #sweep(now: number): void {
    if (now < this.#nextSweep) return
    this.#nextSweep = now + 10_000
    const full = (this.#burst / this.#rate) * 1000
    for (const [key, bucket] of this.#buckets) if (now - bucket.at > full) this.#buckets.delete(key)
  }
}
