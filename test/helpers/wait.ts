/**
 * Resolves when `check` returns a truthy value; rejects after `timeoutMs`. Polls every `everyMs`.
 * `what` may be a function, to say in the error what was seen last.
 */
export async function waitUntil<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 5000, everyMs = 10, what = 'condition' as string | (() => string) } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) {
      const said = typeof what === 'function' ? what() : what
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${said}`)
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/** Rejects if `promise` does not settle within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
