import { MemoryEngine } from '../../src/engine/memory.js'
import { engineContract } from './contract.js'
import { jobsContract } from './jobs-contract.js'

engineContract(
  'memory',
  async ({ namespaces, idempotencyWindowMs }) => ({
    engine: new MemoryEngine({ settingsFor: (c) => namespaces.settingsFor(c), idempotencyWindowMs }),
  }),
  { durable: false },
)

jobsContract('memory', async ({ namespaces, idempotencyWindowMs, jobRetentionMs }) => ({
  engine: new MemoryEngine({
    settingsFor: (c) => namespaces.settingsFor(c),
    idempotencyWindowMs,
    jobRetentionMs,
  }),
}))
