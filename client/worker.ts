import type { Client } from './client.js'
import { Emitter } from './emitter.js'
import { isRetryable, LeaseExpiredError } from './errors.js'
import type { Job } from './jobs.js'

/** A claimed job as a worker's handler sees it. */
export interface WorkerJob<D = unknown> {
  readonly id: string
  readonly queue: string
  readonly data: D
  /** 1 on the first delivery. */
  readonly attempts: number
  /** Aborted when the job is cancelled or its lease is lost: stop working on it. */
  readonly signal: AbortSignal
  progress(progress: unknown): Promise<void>
}

export type WorkerHandler<D, R> = (job: WorkerJob<D>) => Promise<R> | R

export interface WorkerOptions {
  /** Jobs handled at once (default 1). */
  readonly concurrency?: number
  /** Lease asked for each job (default 30 s); heartbeats renew it every third of it. */
  readonly leaseMs?: number
  /** Seconds each claim long-polls (default 20). */
  readonly claimWaitSeconds?: number
}

type WorkerEvents = {
  completed: [Job, unknown]
  failed: [Job, Error]
  error: [Error]
}

interface Claimed extends Job {
  readonly lease: string
  readonly lease_expires_at: number
}

/**
 * Runs `handler` for each job of a queue, `concurrency` at a time: claims by long poll, renews the
 * lease while the handler runs, reports progress, completes or fails the job. `stop()` lets the
 * jobs in hand finish.
 */
export class Worker<D = unknown, R = unknown> {
  readonly queue: string
  readonly #client: Client
  readonly #handler: WorkerHandler<D, R>
  readonly #leaseMs: number
  readonly #waitSeconds: number
  readonly #events = new Emitter<WorkerEvents>()
  readonly #stopping = new AbortController()
  readonly #loops: Promise<void>[]

  constructor(client: Client, queue: string, handler: WorkerHandler<D, R>, options: WorkerOptions = {}) {
    this.#client = client
    this.queue = queue
    this.#handler = handler
    this.#leaseMs = options.leaseMs ?? 30_000
    this.#waitSeconds = options.claimWaitSeconds ?? 20
    this.#loops = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, () => this.#loop())
  }

  on<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): () => void {
    return this.#events.on(event, listener)
  }

  /** Stops claiming; resolves once the jobs in hand are done. */
  async stop(): Promise<void> {
    this.#stopping.abort()
    await Promise.all(this.#loops)
  }

  async #loop(): Promise<void> {
    let failures = 0
    // The next job, handed over with the answer that finished the last one.
    let next: Claimed | undefined
    while (next || !this.#stopping.signal.aborted) {
      try {
        const job = next ?? (await this.#claim())
        next = undefined
        failures = 0
        if (job) next = await this.#run(job)
      } catch (error) {
        if (this.#stopping.signal.aborted) return
        this.#events.emit('error', error as Error)
        if (!isRetryable(error)) failures = Math.max(failures, 3)
        failures += 1
        await delay(Math.min(10_000, 100 * 2 ** failures) * (0.5 + Math.random() / 2), this.#stopping.signal)
      }
    }
  }

  async #claim(): Promise<Claimed | undefined> {
    const answer = await this.#client.http.request<Claimed | undefined>(
      `/v1/queues/${encodeURIComponent(this.queue)}/claim`,
      {
        method: 'POST',
        query: { wait: this.#waitSeconds, lease_ms: this.#leaseMs },
        signal: this.#stopping.signal,
      },
    )
    return answer.status === 200 ? answer.body : undefined
  }

  /** Runs one job to its end; answers the queue's next job when the server handed one over. */
  async #run(job: Claimed): Promise<Claimed | undefined> {
    const lost = new AbortController()
    const path = `/v1/jobs/${encodeURIComponent(job.id)}`
    const headers = { 'switchboard-lease': job.lease }
    const call = (op: string, body?: unknown, query?: Record<string, string | number>) =>
      this.#client.http.request<Record<string, unknown>>(`${path}/${op}`, {
        method: 'POST',
        headers,
        body,
        query,
      })
    const heartbeat = setInterval(() => {
      call('heartbeat', { lease_ms: this.#leaseMs }).then(
        (answer) => {
          if (answer.body?.cancelled) lost.abort(new Error('the job was cancelled'))
        },
        (error) => {
          if (error instanceof LeaseExpiredError) lost.abort(error)
        },
      )
    }, this.#leaseMs / 3)
    let outcome: { ok: true; result: R } | { ok: false; error: Error }
    try {
      const result = await this.#handler({
        id: job.id,
        queue: job.queue,
        data: job.data as D,
        attempts: job.attempts,
        signal: lost.signal,
        progress: async (progress) => {
          await call('progress', { progress })
        },
      })
      outcome = { ok: true, result }
    } catch (error) {
      outcome = { ok: false, error: error instanceof Error ? error : new Error(String(error)) }
    } finally {
      clearInterval(heartbeat)
    }
    if (lost.signal.aborted) return undefined
    // Unless stopping, finishing a job also claims the next one: one request per job when busy.
    const next = this.#stopping.signal.aborted ? undefined : { next: 'true', lease_ms: this.#leaseMs }
    try {
      const answer = outcome.ok
        ? await call('complete', { result: outcome.result ?? null }, next)
        : await call('fail', { error: outcome.error.message }, next)
      if (outcome.ok) this.#events.emit('completed', job, outcome.result)
      else this.#events.emit('failed', job, outcome.error)
      return (answer.body?.next as Claimed | null) ?? undefined
    } catch (error) {
      this.#events.emit('error', error as Error)
      return undefined
    }
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}
