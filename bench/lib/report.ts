/**
 * Benchmarks print one JSON line per result on stdout, so runs can be collected and compared.
 * A result measured beside a peer carries the peer's name and figure and the ratio ours/peer
 * (above 1 means Switchboard did more, or for latencies, see `better`).
 */
export interface BenchResult {
  /** The benchmark script, e.g. `publish`. */
  readonly bench: string
  /** What was measured, e.g. `durable publishes/s, 16 concurrent HTTP publishers`. */
  readonly name: string
  readonly value: number
  readonly unit: string
  /** Which direction is better: `higher` for throughput, `lower` for latency and memory. */
  readonly better: 'higher' | 'lower'
  readonly peer?: string
  readonly peerValue?: number
  /** value / peerValue. */
  readonly ratio?: number
  readonly details?: Readonly<Record<string, unknown>>
}

export function emit(result: BenchResult): void {
  const ratio = result.peerValue ? round(result.value / result.peerValue, 3) : undefined
  process.stdout.write(`${JSON.stringify({ ...result, value: round(result.value, 2), ratio })}\n`)
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** The p-th percentile (0–100) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]
}
