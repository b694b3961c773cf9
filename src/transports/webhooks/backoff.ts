/** The first retry waits about this long; each further failure doubles it, up to the cap. */
export const FIRST_BACKOFF_MS = 100

/**
 * Exponential backoff with jitter: after the `failures`-th failure in a row, a wait between half and
 * all of `FIRST_BACKOFF_MS * 2^(failures-1)`, capped by `maxMs`. The jitter spreads the retries of
 * many channels hitting one endpoint.
 */
export function backoffMs(failures: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, FIRST_BACKOFF_MS * 2 ** Math.min(failures - 1, 30))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}
