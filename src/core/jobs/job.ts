export type JobState = 'queued' | 'delayed' | 'active' | 'succeeded' | 'failed' | 'cancelled'

export const JOB_STATES: readonly JobState[] = [
  'queued',
  'delayed',
  'active',
  'succeeded',
  'failed',
  'cancelled',
]

const FINAL: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled'])

export function isFinal(state: JobState): boolean {
  return FINAL.has(state)
}

/** A job as an engine stores it. JSON-safe: engines keep it as a document. */
export interface JobRecord {
  readonly id: string
  readonly queue: string
  readonly state: JobState
  readonly data: unknown
  readonly progress: unknown
  readonly result: unknown
  /** The last attempt's error. */
  readonly error: unknown
  /** Every failed attempt's error, oldest first. */
  readonly errors: readonly unknown[]
  /** Deliveries so far; a lease that ran out counts as one. */
  readonly attempts: number
  readonly maxAttempts: number
  /** Default lease of an attempt when the worker asks for none. */
  readonly timeoutMs: number | null
  readonly createdAt: number
  readonly updatedAt: number
  /** When a delayed job becomes claimable. */
  readonly runAt: number
  readonly lease: string | null
  readonly leaseExpiresAt: number | null
  readonly finishedAt: number | null
}

/** The job as the API shows it (`GET /v1/jobs/{id}`); `data` only where asked for. */
export function jobView(job: JobRecord, withData = true): Record<string, unknown> {
  return {
    id: job.id,
    queue: job.queue,
    state: job.state,
    progress: job.progress,
    result: job.result,
    error: job.error,
    errors: job.errors,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    ...(job.state === 'delayed' ? { run_at: job.runAt } : {}),
    ...(withData ? { data: job.data } : {}),
  }
}

/** The channel of a job's events: `state`, `progress` and `result`. */
export function jobChannel(id: string): string {
  return `$job:${id}`
}

/** When the job next needs the timer: its lease end while active, its run time while delayed. */
export function dueAt(job: JobRecord): number | null {
  if (job.state === 'active') return job.leaseExpiresAt
  if (job.state === 'delayed') return job.runAt
  return null
}
