/**
 * The SQLite engine's writer: one thread owns the write connection, so fsyncs never block the event
 * loop. Each batch from the main thread runs in one transaction (one fsync under fsync=always);
 * each op in it runs in a savepoint, so one failing op leaves the others in place.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Namespaces } from '../../core/namespaces.js'
import { SwitchboardError } from '../../protocol/errors.js'
import { openDatabase } from './schema.js'
import type { WriterThreadData } from './writer-client.js'
import {
  createWriterOps,
  type WriterOp,
  type WriterOpResult,
  type WriterReply,
  type WriterRequest,
} from './writer-ops.js'

const data = workerData as WriterThreadData
const port = parentPort!
const db = openDatabase(data.file, data.fsync)
const namespaces = new Namespaces(data.namespaces, data.defaults)
const writer = createWriterOps(db, {
  settingsFor: (channel) => namespaces.settingsFor(channel),
  idempotencyWindowMs: data.idempotencyWindowMs,
  jobRetentionMs: data.jobRetentionMs,
  shortestMaxAgeMs: shortestMaxAge(namespaces),
})
const handlers = writer.ops as Record<string, (args: unknown) => unknown>

function runBatch(ops: readonly WriterOp[]): WriterOpResult[] {
  const results: WriterOpResult[] = []
  try {
    db.transaction(() => {
      for (const { op, args } of ops) {
        try {
          results.push({ ok: true, value: db.transaction(() => handlers[op](args))() })
        } catch (error) {
          writer.forget()
          results.push(failure(error))
        }
      }
    })()
    return results
  } catch (error) {
    writer.forget()
    const message = `storage write failed: ${(error as Error).message}`
    return ops.map(() => ({ ok: false, code: 'unavailable', message }))
  }
}

function failure(error: unknown): WriterOpResult {
  if (error instanceof SwitchboardError) return { ok: false, code: error.code, message: error.message }
  return { ok: false, code: 'internal', message: (error as Error).message }
}

function shortestMaxAge(ns: Namespaces): number {
  const ages = [ns.defaults.maxAgeMs, ...ns.rules.map((r) => r.maxAgeMs ?? ns.defaults.maxAgeMs)]
  const positive = ages.filter((a) => a > 0)
  return positive.length > 0 ? Math.min(...positive) : 0
}

function reply(message: WriterReply): void {
  port.postMessage(message)
}

const sweeper = setInterval(() => {
  try {
    db.transaction(() => writer.sweep(Date.now()))()
  } catch {
    writer.forget()
  }
}, data.sweepIntervalMs)

port.on('message', (request: WriterRequest) => {
  if (request.kind === 'batch') {
    reply({ kind: 'batch', id: request.id, results: runBatch(request.ops) })
    return
  }
  clearInterval(sweeper)
  try {
    db.pragma('wal_checkpoint(TRUNCATE)')
  } finally {
    db.close()
    reply({ kind: 'closed' })
    port.close()
  }
})
