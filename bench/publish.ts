/**
 * Acknowledged durable publishes/s at fsync=always, by concurrency, single and batch publish;
 * beside raw better-sqlite3 with one transaction+fsync per message (what group commit beats) and
 * batched (the ceiling).
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { tempDir } from '../test/helpers/tmp.js'
import { closedLoop } from './lib/load.js'
import { emit, percentile } from './lib/report.js'
import { benchServer } from './lib/server.js'

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000)
const PAYLOAD = JSON.stringify({ user: 'u-123', event: 'login', at: 1700000000000, pad: 'x'.repeat(40) })
const BENCH = 'publish'

function rawSqlite(perTransaction: number): number {
  const dir = tempDir('switchboard-bench-')
  const db = new Database(join(dir.path, 'raw.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec(
    'CREATE TABLE m (channel INTEGER, offset INTEGER, payload BLOB, PRIMARY KEY (channel, offset)) WITHOUT ROWID',
  )
  const insert = db.prepare('INSERT INTO m VALUES (1, ?, ?)')
  const payload = Buffer.from(PAYLOAD)
  const tx = db.transaction((from: number) => {
    for (let i = 0; i < perTransaction; i++) insert.run(from + i, payload)
  })
  let offset = 1
  const started = performance.now()
  const deadline = started + DURATION_MS / 2
  while (performance.now() < deadline && offset < 20_000_000) {
    tx(offset)
    offset += perTransaction
  }
  const rate = (offset - 1) / ((performance.now() - started) / 1000)
  db.close()
  dir.remove()
  return rate
}

async function main(): Promise<void> {
  const perMessageFsync = rawSqlite(1)
  const batchedCeiling = rawSqlite(1000)
  emit({
    bench: BENCH,
    name: 'raw better-sqlite3, one transaction+fsync per message',
    value: perMessageFsync,
    unit: 'msg/s',
    better: 'higher',
  })
  emit({
    bench: BENCH,
    name: 'raw better-sqlite3, 1000 per transaction (ceiling)',
    value: batchedCeiling,
    unit: 'msg/s',
    better: 'higher',
  })

  const dir = tempDir('switchboard-bench-')
  const server = await benchServer(['--data-dir', dir.path, '--fsync', 'always', '--log-level', 'error'])
  try {
    const headers = { 'content-type': 'application/json' }
    for (const concurrency of [1, 16, 256]) {
      const r = await closedLoop({
        origin: server.url,
        path: `/v1/channels/bench-${concurrency}/messages`,
        concurrency,
        durationMs: DURATION_MS,
        body: PAYLOAD,
        headers,
        expectStatus: 201,
      })
      const rate = r.ok / r.seconds
      const details = {
        p50_ms: percentile(r.latencies, 50),
        p99_ms: percentile(r.latencies, 99),
        failed: r.failed,
      }
      const name = `durable publishes/s, fsync=always, ${concurrency} concurrent HTTP publishers`
      emit({
        bench: BENCH,
        name,
        value: rate,
        unit: 'msg/s',
        better: 'higher',
        peer: 'raw better-sqlite3, fsync per message',
        peerValue: perMessageFsync,
        details,
      })
    }
    const batchSize = 100
    const batch = JSON.stringify({
      messages: Array.from({ length: batchSize }, () => ({
        channel: 'bench-batch',
        data: JSON.parse(PAYLOAD),
      })),
    })
    const r = await closedLoop({
      origin: server.url,
      path: '/v1/publish',
      concurrency: 16,
      durationMs: DURATION_MS,
      body: batch,
      headers,
      expectStatus: 201,
    })
    emit({
      bench: BENCH,
      name: `durable publishes/s, fsync=always, batch publish of ${batchSize}, 16 concurrent`,
      value: (r.ok * batchSize) / r.seconds,
      unit: 'msg/s',
      better: 'higher',
      peer: 'raw better-sqlite3, 1000 per transaction (ceiling)',
      peerValue: batchedCeiling,
      details: { p50_ms: percentile(r.latencies, 50), p99_ms: percentile(r.latencies, 99), failed: r.failed },
    })
  } finally {
    server.child.kill('SIGTERM')
    await server.exited
    dir.remove()
  }
}

await main()
