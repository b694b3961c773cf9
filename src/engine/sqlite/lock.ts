import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { SwitchboardError } from '../../protocol/errors.js'

/**
 * One server per data directory: a lock file holding the owner's PID. A lock left by a process that
 * no longer runs (after kill -9) is taken over.
 */
export function lockDataDir(file: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx')
      writeFileSync(fd, String(process.pid))
      closeSync(fd)
      return () => rmSync(file, { force: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = Number(readFileSync(file, 'utf8'))
      if (owner && isAlive(owner)) {
        throw new SwitchboardError('conflict', `data directory is in use by process ${owner} (${file})`)
      }
      rmSync(file, { force: true })
    }
  }
  throw new SwitchboardError('conflict', `could not lock ${file}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
