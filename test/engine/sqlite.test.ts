import { SqliteEngine } from '../../src/engine/sqlite/engine.js'
import { tempDir } from '../helpers/tmp.js'
import { type EngineFactory, engineContract } from './contract.js'
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
    let engine = open()
    return {
      engine,
      reopen: async () => {
        await engine.close()
        engine = open()
        return engine
      },
      dispose: async () => {
        await engine.close().catch(() => undefined)
        dir.remove()
      },
    }
  }
  engineContract(`sqlite (fsync=${fsync})`, factory, { durable: true })
  jobsContract(`sqlite (fsync=${fsync})`, factory)
}
