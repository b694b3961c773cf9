import type { AppendItem, Coordinates, IdempotencyKey, LeaseRequest } from '../core/engine.js'
import { jobEventItems } from '../core/jobs/events.js'
import type { JobRecord } from '../core/jobs/job.js'
import {
  type Applied,
  applyChange,
  type Backoff,
  createJob,
  type JobChange,
  type NewJob,
} from '../core/jobs/machine.js'
import { SwitchboardError } from '../protocol/errors.js'

/** Where a ledger keeps jobs: synchronous, inside the caller's transaction (SQLite) or tick (memory). */
export interface JobTable {
  get(id: string): JobRecord | undefined
  /** Stores the job; `queuedNow` puts it at the back of its queue's FIFO order. */
  save(job: JobRecord, queuedNow: boolean): void
  /** The id of the job at the front of a queue, if any is queued. */
  firstQueued(queue: string): string | undefined
  /** Ids of jobs whose lease or delay ended at or before `now`, oldest first. */
  dueIds(now: number, limit: number): string[]
  idempotent(key: IdempotencyKey, now: number): string | undefined
  remember(key: IdempotencyKey, id: string, now: number): void
  /** Appends messages to channels, in the same transaction as the job writes. */
  append(items: readonly AppendItem[]): readonly Coordinates[]
}

/** The events a write appended, for the engine to announce once it is committed. */
export interface AppendedEvents {
  readonly items: readonly AppendItem[]
  readonly coordinates: readonly Coordinates[]
}

export interface JobWrite {
  readonly job: JobRecord | undefined
  readonly replayed?: boolean
  /** A new job claimed for a waiting worker in the same write (`NewJob.handTo`). */
  readonly handed?: JobRecord
  /** The next job claimed after a change (`changeThenClaim`). */
  readonly next?: JobRecord
  readonly events: AppendedEvents
}

export interface DueWrite {
  readonly jobs: readonly JobRecord[]
  readonly events: AppendedEvents
}

const DUE_BATCH = 1000

/**
 * The writes of jobs over any JobTable: each applies the core's state machine and appends the
 * job's events to `$job:<id>` in the same atomic write, so every reader sees the same history.
 */
export class JobLedger {
  readonly #table: JobTable

  constructor(table: JobTable) {
    this.#table = table
  }

  submit(spec: NewJob, idempotency: IdempotencyKey | undefined, now: number): JobWrite {
    if (idempotency) {
      const id = this.#table.idempotent(idempotency, now)
      const job = id === undefined ? undefined : this.#table.get(id)
      if (job) return { job, replayed: true, events: { items: [], coordinates: [] } }
    }
    if (this.#table.get(spec.id)) throw new SwitchboardError('conflict', `job ${spec.id} exists`)
    const applied = createJob(spec, now)
    this.#table.save(applied.job, applied.job.state === 'queued')
    if (idempotency) this.#table.remember(idempotency, spec.id, now)
    const handed = applied.job === applied.submitted ? undefined : applied.job
    return { job: applied.submitted, replayed: false, handed, events: this.#events([applied]) }
  }

  claim(queue: string, lease: string, leaseMs: number, now: number): JobWrite {
    const id = this.#table.firstQueued(queue)
    if (id === undefined) return { job: undefined, events: { items: [], coordinates: [] } }
    return this.#apply(id, { kind: 'claim', lease, leaseMs }, now)
  }

  change(id: string, change: JobChange, now: number): JobWrite {
    return this.#apply(id, change, now)
  }

  changeThenClaim(id: string, change: JobChange, next: LeaseRequest, now: number): JobWrite {
    const changed = this.#apply(id, change, now)
    const claimed = this.claim((changed.job as JobRecord).queue, next.lease, next.leaseMs, now)
    return {
      job: changed.job,
      next: claimed.job,
      events: {
        items: [...changed.events.items, ...claimed.events.items],
        coordinates: [...changed.events.coordinates, ...claimed.events.coordinates],
      },
    }
  }

  /** Ends run-out leases (retry or fail) and releases delayed jobs whose time came. */
  due(backoff: Backoff, now: number): DueWrite {
    const applied: Applied[] = []
    for (const id of this.#table.dueIds(now, DUE_BATCH)) {
      const job = this.#table.get(id)
      if (!job) continue
      const result = applyChange(job, { kind: 'due', backoff }, now)
      if (result.job === job) continue
      this.#table.save(result.job, result.job.state === 'queued')
      applied.push(result)
    }
    return { jobs: applied.map((a) => a.job), events: this.#events(applied) }
  }

  #apply(id: string, change: JobChange, now: number): JobWrite {
    const job = this.#table.get(id)
    if (!job) throw new SwitchboardError('not_found', `no job ${id}`)
    const applied = applyChange(job, change, now)
    if (applied.job !== job)
      this.#table.save(applied.job, applied.job.state === 'queued' && job.state !== 'queued')
    return { job: applied.job, events: this.#events([applied]) }
  }

  #events(applied: readonly Applied[]): AppendedEvents {
    const items = jobEventItems(applied)
    return { items, coordinates: items.length > 0 ? this.#table.append(items) : [] }
  }
}
