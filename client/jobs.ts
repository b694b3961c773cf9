import type { Client } from './client.js'
import { JobCancelledError, JobFailedError, TimeoutError } from './errors.js'
import type { ChannelMessage } from './message.js'
import type { Subscription } from './subscription.js'

export type JobStateName = 'queued' | 'delayed' | 'active' | 'succeeded' | 'failed' | 'cancelled'

/** A job as `GET /v1/jobs/{id}` answers it. */
export interface Job<D = unknown, R = unknown> {
  readonly id: string
  readonly queue: string
  readonly state: JobStateName
  readonly data?: D
  readonly progress?: unknown
  readonly result?: R
  /** The last attempt's error. */
  readonly error?: unknown
  /** Every failed attempt's error, oldest first. */
  readonly errors?: readonly unknown[]
  readonly attempts: number
  readonly max_attempts?: number
  readonly created_at?: number
  readonly updated_at?: number
}

export interface SubmitOptions {
  readonly maxAttempts?: number
  readonly delayMs?: number
  readonly timeoutMs?: number
  readonly idempotencyKey?: string
  /** Seconds to wait inline for the job to end (`Prefer: wait`); the handle then holds the final job. */
  readonly wait?: number
}

export type JobEvent = { readonly event: string; readonly data: unknown; readonly offset: number }

const FINAL = new Set<JobStateName>(['succeeded', 'failed', 'cancelled'])
const LONG_POLL_SECONDS = 25

export function isFinal(state: JobStateName): boolean {
  return FINAL.has(state)
}

/**
 * A handle on a job: its id is all it needs, so it can be stored and reattached later from another
 * process with `client.job(id)`.
 */
export class JobHandle<R = unknown> {
  readonly id: string
  readonly #client: Client
  /** The job as last seen. */
  last: Job<unknown, R> | undefined

  constructor(client: Client, id: string, last?: Job<unknown, R>) {
    this.#client = client
    this.id = id
    this.last = last
  }

  async status(): Promise<Job<unknown, R>> {
    const answer = await this.#client.http.request<Job<unknown, R>>(`/v1/jobs/${encodeURIComponent(this.id)}`)
    this.last = answer.body
    return answer.body
  }

  /**
   * The result once the job ends: resolves for `succeeded`, rejects with JobFailedError or
   * JobCancelledError otherwise, or TimeoutError when `timeoutMs` passes first.
   */
  async wait(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<R> {
    const deadline =
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs
    let job = this.last
    while (!job || !isFinal(job.state)) {
      const left = deadline - Date.now()
      if (left <= 0) throw new TimeoutError('timeout', `job ${this.id} did not end in time`)
      const answer = await this.#client.http.request<Job<unknown, R>>(
        `/v1/jobs/${encodeURIComponent(this.id)}`,
        {
          query: { wait: Math.min(LONG_POLL_SECONDS, left / 1000) },
          signal: options.signal,
        },
      )
      job = answer.body
      this.last = job
    }
    return settle(job)
  }

  /** Cancels the job (a worker holding it learns at its next heartbeat). */
  async cancel(): Promise<Job<unknown, R>> {
    const answer = await this.#client.http.request<Job<unknown, R>>(
      `/v1/jobs/${encodeURIComponent(this.id)}`,
      {
        method: 'DELETE',
      },
    )
    this.last = answer.body
    return answer.body
  }

  /**
   * The job's events (`state`, `progress`, `result`) from its first, pushed over the client's
   * connection; call `unsubscribe()` on the answer to stop.
   */
  events(handler: (event: JobEvent) => void): Subscription {
    return this.#client.subscribe(
      `$job:${this.id}`,
      (message: ChannelMessage) => handler(jobEvent(message)),
      {
        after: 0,
      },
    )
  }

  /** Progress reports as they happen. */
  onProgress(handler: (progress: unknown) => void): Subscription {
    return this.events((event) => {
      if (event.event === 'progress') handler(progressOf(event.data))
    })
  }
}

export function jobEvent(message: ChannelMessage): JobEvent {
  return { event: message.headers.event ?? 'state', data: message.data, offset: message.offset }
}

function progressOf(data: unknown): unknown {
  return data !== null && typeof data === 'object' && 'progress' in data
    ? (data as { progress: unknown }).progress
    : data
}

function settle<R>(job: Job<unknown, R>): R {
  if (job.state === 'succeeded') return job.result as R
  if (job.state === 'cancelled') throw new JobCancelledError('cancelled', `job ${job.id} was cancelled`)
  throw new JobFailedError('failed', `job ${job.id} failed: ${describe(job.error)}`, 0, {
    job,
    error: job.error,
  })
}

function describe(error: unknown): string {
  if (Array.isArray(error)) return describe(error.at(-1))
  if (typeof error === 'string') return error
  if (error && typeof error === 'object' && 'message' in error) return String(error.message)
  return JSON.stringify(error)
}

export async function submitJob<R>(
  client: Client,
  queue: string,
  data: unknown,
  options: SubmitOptions = {},
): Promise<JobHandle<R>> {
  const headers: Record<string, string> = {}
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey
  if (options.wait !== undefined) headers.prefer = `wait=${options.wait}`
  const answer = await client.http.request<Job<unknown, R>>(`/v1/queues/${encodeURIComponent(queue)}/jobs`, {
    method: 'POST',
    headers,
    body: {
      data,
      max_attempts: options.maxAttempts,
      delay_ms: options.delayMs,
      timeout_ms: options.timeoutMs,
    },
  })
  return new JobHandle<R>(client, answer.body.id, answer.body)
}

/** RPC: the worker's result, or WorkerFailedError / TimeoutError. */
export async function callQueue<R>(
  client: Client,
  queue: string,
  data: unknown,
  options: { timeoutMs?: number } = {},
): Promise<R> {
  const answer = await client.http.request<R>(`/v1/rpc/${encodeURIComponent(queue)}`, {
    method: 'POST',
    body: data ?? null,
    query: { timeout_ms: options.timeoutMs },
  })
  return answer.body
}
