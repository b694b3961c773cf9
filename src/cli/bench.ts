import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'

/** Where the built benchmark scripts are: dist/bench beside dist/src. */
const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench')

export function benchCommand(program: Command): void {
  program
    .command('bench')
    .description('run benchmarks (all, or the named ones); each prints JSON lines')
    .argument('[names...]', `some of: ${available().join(', ')}`)
    .action(async (names: string[]) => {
      const known = available()
      const chosen = names.length > 0 ? names : known
      const unknown = chosen.filter((name) => !known.includes(name))
      if (unknown.length > 0) {
        process.stderr.write(
          `switchboard: unknown benchmark ${unknown.join(', ')}; known: ${known.join(', ')}\n`,
        )
        process.exit(2)
      }
      for (const name of chosen) {
        const code = await new Promise<number>((resolve) =>
          spawn(process.execPath, [join(BENCH_DIR, `${name}.js`)], { stdio: 'inherit' }).on('exit', (c) =>
            resolve(c ?? 1),
          ),
        )
        if (code !== 0) process.exit(code)
      }
    })
}

function available(): string[] {
  try {
    return readdirSync(BENCH_DIR)
      .filter((file) => file.endsWith('.js'))
      .map((file) => file.slice(0, -3))
      .sort()
  } catch {
    return []
  }
}
