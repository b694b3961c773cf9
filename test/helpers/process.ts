import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitUntil } from './wait.js'

/** The project root: the nearest folder above this file with a package.json (from src or from dist). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
}

export const CLI = join(projectRoot(), 'dist', 'src', 'cli.js')

export interface ServerProcess {
  readonly child: ChildProcess
  readonly url: string
  readonly port: number
  /** Everything the process wrote to stderr so far. */
  stderr(): string
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>
}

/** Runs `switchboard serve` as its own process (the built CLI) and waits until /healthz answers. */
export async function spawnServer(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--tcp-port',
      '0',
      '--log-level',
      'warn',
      ...args,
    ],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk
  })
  child.stdout!.resume()
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  )
  const url = `http://127.0.0.1:${port}`
  let gone = false
  void exited.then(() => {
    gone = true
  })
  await waitUntil(
    async () => {
      if (gone) throw new Error(`server exited before listening: ${err}`)
      return fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    },
    { timeoutMs: 15_000, everyMs: 25, what: 'the server to listen' },
  )
  return { child, url, port, stderr: () => err, exited }
}

/** A port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const net = await import('node:net')
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.unref()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

/** Runs the CLI to completion, with `input` on its stdin; resolves with its exit code and output. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  input = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } })
    child.stdin.end(input)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c
    })
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c
    })
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}
