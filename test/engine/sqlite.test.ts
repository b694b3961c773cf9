import { SqliteEngine } from '../../src/engine/sqlite/engine.js'
import { tempDir } from '../helpers/tmp.js'
import { durableHandle, type EngineFactory, engineContract } from './contract.js'
import { jobsContract } from './jobs-contract.js'

for (const fsync of ['always', 'os'] as const) {
  const factory: EngineFactory = async ({ namespaces, idempotencyWindowMs, jobRetentionMs }) => {
    const dir = tempDir()
    const open = () =>
      new SqliteEngine({
        dataDir: dir.path,
        fsync,
        namespaces,
        idempotencyWindowMs,
        jobRetentionMs,
        sweepIntervalMs: 50,
      })
    return durableHandle(open, dir.remove)
  }
  engineContract(`sqlite (fsync=${fsync})`, factory, { durable: true })
  jobsContract(`sqlite (fsync=${fsync})`, factory)
}
