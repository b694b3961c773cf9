import type Database from 'better-sqlite3'
import { ChannelWrites, type ChannelWritesContext } from './channel-writes.js'
import { cursorWrites } from './cursors.js'
import { jobWrites } from './jobs.js'

export interface WriterContext extends ChannelWritesContext {
  readonly jobRetentionMs: number
}

/**
 * Every write the SQLite engine makes, by name: the writer thread runs them, the engine calls them
 * through `WriterClient.call`. A new kind of write is one more entry here.
 */
export function createWriterOps(db: Database.Database, ctx: WriterContext) {
  const channels = new ChannelWrites(db, ctx)
  const cursors = cursorWrites(db)
  const jobs = jobWrites(db, channels, ctx.idempotencyWindowMs, ctx.jobRetentionMs)
  return {
    ops: {
      append: channels.append.bind(channels),
      setCursor: cursors.set,
      jobSubmit: jobs.submit,
      jobClaim: jobs.claim,
      jobChange: jobs.change,
      jobChangeThenClaim: jobs.changeThenClaim,
      jobDue: jobs.due,
    },
    /** Periodic housekeeping, in its own transaction. */
    sweep(now: number): void {
      channels.sweep(now)
      jobs.sweep(now)
    },
    /** Drops cached rows after a rollback, so they are read again from the database. */
    forget(): void {
      channels.forget()
    },
  }
}

export type WriterOps = ReturnType<typeof createWriterOps>['ops']
export type WriterOpName = keyof WriterOps

export interface WriterOp {
  readonly op: WriterOpName
  readonly args: unknown
}

export type WriterOpResult = { ok: true; value: unknown } | { ok: false; code: string; message: string }

export type WriterRequest = { kind: 'batch'; id: number; ops: WriterOp[] } | { kind: 'close' }

export type WriterReply = { kind: 'batch'; id: number; results: WriterOpResult[] } | { kind: 'closed' }
