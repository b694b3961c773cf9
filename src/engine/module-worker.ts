import { createHash } from 'node:crypto'
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'

/**
 * A worker thread running the module next to `base` named `name`. Built code runs the `.js` file.
 * From TypeScript sources (tests, development) Node 20 cannot load `.ts` in a worker, so the module
 * is bundled first with esbuild (a development dependency) into node_modules/.cache.
 */
export function moduleWorker(base: string, name: string, workerData: unknown): Worker {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base), { workerData })
  const require = createRequire(base)
  const entry = fileURLToPath(new URL(`./${name}.ts`, base))
  const root = dirname(dirname(require.resolve('esbuild/package.json')))
  const tag = createHash('sha1').update(entry).digest('hex').slice(0, 8)
  const outfile = join(root, '.cache', 'switchboard', `${name}-${tag}.mjs`)
  const esbuild = require('esbuild') as typeof import('esbuild')
  const built = esbuild.buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    write: false,
    logLevel: 'error',
  })
  // Written aside and renamed, so concurrent test processes never load a half-written file.
  mkdirSync(dirname(outfile), { recursive: true })
  const partial = `${outfile}.${process.pid}.tmp`
  writeFileSync(partial, built.outputFiles[0].contents)
  renameSync(partial, outfile)
  return new Worker(outfile, { workerData })
}
