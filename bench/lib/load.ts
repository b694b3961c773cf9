import { Pool } from 'undici'

export interface LoadResult {
  /** Requests answered with the expected status. */
  readonly ok: number
  readonly failed: number
  readonly seconds: number
  /** Milliseconds per answered request. */
  readonly latencies: number[]
}

/**
 * `concurrency` clients, each sending one request after the other for `durationMs` (bounded also by
 * `maxRequests`), over a pool of as many connections.
 */
export async function closedLoop(options: {
  origin: string
  path: string
  concurrency: number
  durationMs: number
  body: string | Buffer
  headers: Record<string, string>
  expectStatus: number
  maxRequests?: number
}): Promise<LoadResult> {
  const pool = new Pool(options.origin, { connections: options.concurrency, pipelining: 1 })
  const latencies: number[] = []
  let ok = 0
  let failed = 0
  let sent = 0
  const max = options.maxRequests ?? 5_000_000
  const started = performance.now()
  const deadline = started + options.durationMs
  const client = async () => {
    while (performance.now() < deadline && sent < max) {
      sent += 1
      const t = performance.now()
      const res = await pool.request({
        path: options.path,
        method: 'POST',
        body: options.body,
        headers: options.headers,
      })
      await res.body.dump()
      if (res.statusCode === options.expectStatus) {
        ok += 1
        latencies.push(performance.now() - t)
      } else failed += 1
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, client))
  const seconds = (performance.now() - started) / 1000
  await pool.close()
  return { ok, failed, seconds, latencies }
}
