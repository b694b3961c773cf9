/** A token bucket: `rate` tokens a second, holding at most `burst`. */
export class TokenBucket {
  readonly rate: number
  readonly burst: number
  #tokens: number
  #at: number

  constructor(rate: number, burst: number, now = Date.now()) {
    this.rate = rate
    this.burst = Math.max(1, burst || rate)
    this.#tokens = this.burst
    this.#at = now
  }

  /** Takes one token; false when the bucket is empty. */
  take(now = Date.now()): boolean {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.rate)
    this.#at = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }

  /** Whole seconds until a token is back. */
  get retryAfter(): number {
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.rate)
  }

  /** True once the bucket has been idle long enough to be full again. */
  full(now: number): boolean {
    return now - this.#at >= (this.burst / this.rate) * 1000
  }
}

/**
 * Token buckets by key (a client address): `rate` tokens per second up to `burst`. Buckets idle long
 * enough to be full are dropped, so memory follows the number of active clients.
 */
export class RateLimiter {
  readonly #rate: number
  readonly #burst: number
  readonly #buckets = new Map<string, TokenBucket>()
  #nextSweep = 0

  constructor(ratePerSecond: number, burst: number) {
    this.#rate = ratePerSecond
    this.#burst = burst
  }

  /** Takes one token for `key`; false when its bucket is empty. */
  take(key: string, now = Date.now()): boolean {
    this.#sweep(now)
    let bucket = this.#buckets.get(key)
    if (!bucket) {
      bucket = new TokenBucket(this.#rate, this.#burst, now)
      this.#buckets.set(key, bucket)
    }
    return bucket.take(now)
  }

  /** Seconds until `key` has a token again. */
  retryAfter(key: string): number {
    return this.#buckets.get(key)?.retryAfter ?? 0
  }

  #sweep(now: number): void {
    if (now < this.#nextSweep) return
    this.#nextSweep = now + 10_000
    for (const [key, bucket] of this.#buckets) if (bucket.full(now)) this.#buckets.delete(key)
  }
}
