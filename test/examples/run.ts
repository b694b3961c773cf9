import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../helpers/process.js'
import { tempDir } from '../helpers/tmp.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const DIST = ROOT.endsWith('dist') ? ROOT : join(ROOT, 'dist')

export interface RunningExample {
  readonly url: string
  readonly child: ChildProcess
  stop(): Promise<void>
}

/** Runs an example with its one command (`node dist/examples/<name>/main.js`) on a free port. */
export async function runExample(name: string, env: Record<string, string> = {}): Promise<RunningExample> {
  const port = await freePort()
  const data = tempDir(`switchboard-example-${name}-`)
  const child = spawn(process.execPath, [join(DIST, 'examples', name, 'main.js')], {
    env: { ...process.env, PORT: String(port), DATA_DIR: data.path, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let errors = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    errors += chunk
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      const match = /open (http:\/\/\S+?)\/ /.exec(out)
      if (match) resolve(match[1])
    })
    child.once('exit', (code) => reject(new Error(`example ${name} exited with ${code}: ${errors}`)))
  })
  return {
    url,
    child,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
      data.remove()
    },
  }
}
