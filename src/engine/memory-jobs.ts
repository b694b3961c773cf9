import type { AppendItem, Coordinates, IdempotencyKey, JobStore, LeaseRequest } from '../core/engine.js'
import { dueAt, isFinal, JOB_STATES, type JobRecord, type JobState, jobChannel } from '../core/jobs/job.js'
import type { Backoff, JobChange, NewJob } from '../core/jobs/machine.js'
import { JobLedger, type JobTable, type JobWrite } from './job-ledger.js'

const DAY = 24 * 3600 * 1000

/** Jobs in process memory, their events appended to the memory engine's channels. */
export class MemoryJobs implements JobStore {
  readonly #table: MemoryJobTable
  readonly #ledger: JobLedger
  readonly #retentionMs: number
  readonly #removeChannel: (channel: string) => void

  constructor(
    append: (items: readonly AppendItem[]) => readonly Coordinates[],
    removeChannel: (channel: string) => void,
    idempotencyWindowMs: number,
    retentionMs = DAY,
  ) {
    this.#table = new MemoryJobTable(append, idempotencyWindowMs)
    this.#removeChannel = removeChannel
    this.#ledger = new JobLedger(this.#table)
    this.#retentionMs = retentionMs
  }

  async submit(spec: NewJob, idempotency?: IdempotencyKey) {
    const { job, replayed, handed } = this.#ledger.submit(spec, idempotency, Date.now())
    return { job: job as JobRecord, replayed: replayed ?? false, handed }
  }

  async claim(queue: string, lease: string, leaseMs: number) {
    return this.#ledger.claim(queue, lease, leaseMs, Date.now()).job
  }

  async change(id: string, change: JobChange): Promise<JobRecord> {
    return (this.#ledger.change(id, change, Date.now()) as JobWrite).job as JobRecord
  }

  async changeThenClaim(id: string, change: JobChange, next: LeaseRequest) {
    const write = this.#ledger.changeThenClaim(id, change, next, Date.now())
    return { job: write.job as JobRecord, next: write.next }
  }

  async due(backoff: Backoff): Promise<JobRecord[]> {
    const now = Date.now()
    for (const id of this.#table.purge(now - this.#retentionMs)) this.#removeChannel(jobChannel(id))
    return [...this.#ledger.due(backoff, now).jobs]
  }

  async get(id: string) {
    return this.#table.get(id)
  }

  async nextDue() {
    return this.#table.nextDue()
  }

  async list(queue: string, state: JobState, limit: number) {
    return this.#table.all(queue, state).slice(0, limit)
  }

  async counts(queue: string) {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>
    for (const job of this.#table.all(queue)) counts[job.state] += 1
    return counts
  }
}

class MemoryJobTable implements JobTable {
  readonly #jobs = new Map<string, JobRecord>()
  /** Queued job ids per queue, in FIFO order (a Set keeps insertion order). */
  readonly #queued = new Map<string, Set<string>>()
  readonly #keys = new Map<string, { id: string; expiresAt: number }>()
  readonly #append: (items: readonly AppendItem[]) => readonly Coordinates[]
  readonly #windowMs: number

  constructor(append: (items: readonly AppendItem[]) => readonly Coordinates[], windowMs: number) {
    this.#append = append
    this.#windowMs = windowMs
  }

  get(id: string) {
    return this.#jobs.get(id)
  }

  save(job: JobRecord, queuedNow: boolean): void {
    this.#jobs.set(job.id, job)
    let queue = this.#queued.get(job.queue)
    if (!queue) {
      queue = new Set()
      this.#queued.set(job.queue, queue)
    }
    if (queuedNow) queue.delete(job.id)
    if (job.state === 'queued') queue.add(job.id)
    else queue.delete(job.id)
  }

  firstQueued(queue: string): string | undefined {
    for (const id of this.#queued.get(queue) ?? []) return id
    return undefined
  }

  dueIds(now: number, limit: number): string[] {
    const due: [number, string][] = []
    for (const job of this.#jobs.values()) {
      const at = dueAt(job)
      if (at !== null && at <= now) due.push([at, job.id])
    }
    return due
      .sort((a, b) => a[0] - b[0])
      .slice(0, limit)
      .map(([, id]) => id)
  }

  nextDue(): number | undefined {
    let next: number | undefined
    for (const job of this.#jobs.values()) {
      const at = dueAt(job)
      if (at !== null && (next === undefined || at < next)) next = at
    }
    return next
  }

  idempotent(key: IdempotencyKey, now: number): string | undefined {
    const entry = this.#keys.get(`${key.scope}\n${key.key}`)
    return entry && entry.expiresAt > now ? entry.id : undefined
  }

  remember(key: IdempotencyKey, id: string, now: number): void {
    this.#keys.set(`${key.scope}\n${key.key}`, { id, expiresAt: now + this.#windowMs })
  }

  append(items: readonly AppendItem[]): readonly Coordinates[] {
    return this.#append(items)
  }

  all(queue: string, state?: JobState): JobRecord[] {
    return [...this.#jobs.values()].filter(
      (j) => j.queue === queue && (state === undefined || j.state === state),
    )
  }

  /** Removes the jobs that ended before `finishedBefore`; answers their ids. */
  purge(finishedBefore: number): string[] {
    const removed: string[] = []
    for (const [id, job] of this.#jobs) {
      if (isFinal(job.state) && (job.finishedAt ?? 0) < finishedBefore) {
        this.#jobs.delete(id)
        removed.push(id)
      }
    }
    return removed
  }
}
