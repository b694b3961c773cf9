import { existsSync } from 'node:fs'

/** The suite spawns the built CLI for process-level tests: it must exist (make test builds it). */
export default function setup(): void {
  if (!existsSync(new URL('../../dist/src/cli.js', import.meta.url))) {
    throw new Error('dist/src/cli.js is missing: run `make test` (it builds first) or `npm run build`')
  }
}
