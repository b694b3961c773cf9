import { SwitchboardError } from '../../protocol/errors.js'
import type { LeaseRequest } from '../engine.js'
import { isFinal, type JobRecord, jobView } from './job.js'

/** A change to a job, applied by an engine inside one atomic write. */
export type JobChange =
  | { readonly kind: 'claim'; readonly lease: string; readonly leaseMs: number }
  | { readonly kind: 'heartbeat'; readonly lease: string; readonly leaseMs: number }
  | { readonly kind: 'progress'; readonly lease: string; readonly progress: unknown }
  | { readonly kind: 'complete'; readonly lease: string; readonly result: unknown }
  | {
      readonly kind: 'fail'
      readonly lease: string
      readonly error: unknown
      readonly retry: boolean
      readonly backoff: Backoff
    }
  | { readonly kind: 'cancel' }
  /** The timer found the lease run out, or the delay over. */
  | { readonly kind: 'due'; readonly backoff: Backoff }

/** Exponential backoff with jitter; `random` in [0, 1) is drawn by the caller, so this stays pure. */
export interface Backoff {
  readonly baseMs: number
  readonly maxMs: number
  readonly random: number
}

/** The delay before retry number `attempt` (1 = after the first failure): full jitter over an exponential ceiling. */
export function backoffMs({ baseMs, maxMs, random }: Backoff, attempt: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(ceiling / 2 + random * (ceiling / 2))
}

/** An event a change appends to the job's channel: header `event`, JSON data. */
export interface JobEvent {
  readonly event: 'state' | 'progress' | 'result'
  readonly data: unknown
}

export interface Applied {
  readonly job: JobRecord
  readonly events: readonly JobEvent[]
}

/** The events of a job that just reached `job.state`. */
function stateEvents(job: JobRecord): JobEvent[] {
  const view = jobView(job, false)
  const events: JobEvent[] = [{ event: 'state', data: view }]
  if (isFinal(job.state)) events.push({ event: 'result', data: view })
  return events
}

function holds(job: JobRecord, lease: string, now: number): boolean {
  return job.state === 'active' && job.lease === lease && (job.leaseExpiresAt ?? 0) > now
}

function staleLease(job: JobRecord): SwitchboardError {
  return new SwitchboardError('lease_expired', `job ${job.id} is ${job.state} and not held by this lease`, {
    state: job.state,
  })
}

/** Ends an attempt that failed: retried after a backoff while attempts remain, else failed for good. */
function failAttempt(
  job: JobRecord,
  error: unknown,
  retry: boolean,
  backoff: Backoff,
  now: number,
): JobRecord {
  const errors = [...job.errors, error]
  const base = { ...job, error, errors, lease: null, leaseExpiresAt: null, updatedAt: now }
  if (retry && job.attempts < job.maxAttempts)
    return { ...base, state: 'delayed', runAt: now + backoffMs(backoff, job.attempts) }
  return { ...base, state: 'failed', finishedAt: now }
}

/**
 * The state machine of a job: queued → active → succeeded | failed | cancelled, with delayed for
 * later runs and retries. Refuses what the job's state does not allow; changes nothing then.
 */
export function applyChange(job: JobRecord, change: JobChange, now: number): Applied {
  switch (change.kind) {
    case 'claim': {
      if (job.state !== 'queued') throw new SwitchboardError('conflict', `job ${job.id} is ${job.state}`)
      const next: JobRecord = {
        ...job,
        state: 'active',
        attempts: job.attempts + 1,
        lease: change.lease,
        leaseExpiresAt: now + change.leaseMs,
        updatedAt: now,
      }
      return { job: next, events: stateEvents(next) }
    }
    case 'heartbeat': {
      // A cancelled job answers its lease holder once more, so the worker learns of it.
      if (job.state === 'cancelled' && job.lease === change.lease) return { job, events: [] }
      if (!holds(job, change.lease, now)) throw staleLease(job)
      return { job: { ...job, leaseExpiresAt: now + change.leaseMs, updatedAt: now }, events: [] }
    }
    case 'progress': {
      if (!holds(job, change.lease, now)) throw staleLease(job)
      const next = { ...job, progress: change.progress, updatedAt: now }
      return { job: next, events: [{ event: 'progress', data: { progress: change.progress } }] }
    }
    case 'complete': {
      if (!holds(job, change.lease, now)) throw staleLease(job)
      const next: JobRecord = {
        ...job,
        state: 'succeeded',
        result: change.result,
        lease: null,
        leaseExpiresAt: null,
        updatedAt: now,
        finishedAt: now,
      }
      return { job: next, events: stateEvents(next) }
    }
    case 'fail': {
      if (!holds(job, change.lease, now)) throw staleLease(job)
      const next = failAttempt(job, change.error, change.retry, change.backoff, now)
      return { job: next, events: stateEvents(next) }
    }
    case 'cancel': {
      if (isFinal(job.state)) return { job, events: [] }
      // The lease is kept so that the worker's next heartbeat hears of the cancel.
      const next: JobRecord = {
        ...job,
        state: 'cancelled',
        leaseExpiresAt: null,
        updatedAt: now,
        finishedAt: now,
      }
      return { job: next, events: stateEvents(next) }
    }
    case 'due': {
      if (job.state === 'delayed' && job.runAt <= now) {
        const next: JobRecord = { ...job, state: 'queued', updatedAt: now }
        return { job: next, events: stateEvents(next) }
      }
      if (job.state === 'active' && (job.leaseExpiresAt ?? Number.POSITIVE_INFINITY) <= now) {
        const error = { message: `lease expired after attempt ${job.attempts}`, code: 'lease_expired' }
        const failed = failAttempt(job, error, true, change.backoff, now)
        // A worker that vanished is retried at once, not after a backoff.
        const next: JobRecord =
          failed.state === 'delayed' ? { ...failed, state: 'queued', runAt: now } : failed
        return { job: next, events: stateEvents(next) }
      }
      return { job, events: [] }
    }
  }
}

export interface NewJob {
  readonly id: string
  readonly queue: string
  readonly data: unknown
  readonly maxAttempts: number
  readonly delayMs: number
  readonly timeoutMs: number | null
  /** A worker waiting for this queue: the job is claimed for it in the same write (no delay only). */
  readonly handTo?: LeaseRequest
}

export interface Created extends Applied {
  /** The job as submitted, queued or delayed; `job` is the one to store, active when handed over. */
  readonly submitted: JobRecord
}

/** A new job, queued (or delayed), and claimed in the same step when `handTo` a waiting worker. */
export function createJob(spec: NewJob, now: number): Created {
  const created = newJob(spec, now)
  if (!spec.handTo || created.job.state !== 'queued') return { ...created, submitted: created.job }
  const claimed = applyChange(created.job, { kind: 'claim', ...spec.handTo }, now)
  return { job: claimed.job, events: [...created.events, ...claimed.events], submitted: created.job }
}

function newJob(spec: NewJob, now: number): Applied {
  const job: JobRecord = {
    id: spec.id,
    queue: spec.queue,
    state: spec.delayMs > 0 ? 'delayed' : 'queued',
    data: spec.data,
    progress: null,
    result: null,
    error: null,
    errors: [],
    attempts: 0,
    maxAttempts: spec.maxAttempts,
    timeoutMs: spec.timeoutMs,
    createdAt: now,
    updatedAt: now,
    runAt: now + spec.delayMs,
    lease: null,
    leaseExpiresAt: null,
    finishedAt: null,
  }
  return { job, events: stateEvents(job) }
}
