import { type ChildProcess, spawn } from 'node:child_process'
import { freePort } from '../../test/helpers/process.js'
import { waitUntil } from '../../test/helpers/wait.js'

/** A peer server: `code` run as its own Node process with a free port as its argument, once `ready`. */
export async function peerProcess(
  code: string,
  ready: (port: number) => Promise<boolean>,
): Promise<{ port: number; child: ChildProcess; stop: () => void }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['-e', code, String(port)], { stdio: 'ignore' })
  await waitUntil(() => ready(port), { timeoutMs: 10_000, what: 'the peer server' })
  return { port, child, stop: () => child.kill('SIGTERM') }
}
