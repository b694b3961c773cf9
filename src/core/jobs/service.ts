import { randomUUID } from 'node:crypto'
import { SwitchboardError } from '../../protocol/errors.js'
import type { Broker } from '../broker.js'
import type { Finished, IdempotencyKey, LeaseRequest, Submitted } from '../engine.js'
import { assertQueue } from '../names.js'
import { isFinal, type JobRecord, type JobState, jobChannel } from './job.js'
import { newJobId } from './job-id.js'
import type { Backoff, JobChange } from './machine.js'
import { leaseMs, type SubmitOptions, submitOptions } from './options.js'

export interface JobsLimits {
  readonly maxDataBytes: number
  readonly defaultLeaseMs: number
  readonly maxLeaseMs: number
  readonly backoffBaseMs: number
  readonly backoffMaxMs: number
  readonly maxRpcTimeoutMs: number
}

/** A new lease token: 122 random bits. */
function newLease(): string {
  return randomUUID()
}

/** Longest a timer is set for; it re-arms from the engine when it fires. */
const MAX_TIMER_MS = 3_600_000

/** A claim waiting for work, with the lease it will hold, so that a new job can be handed to it. */
interface ClaimWaiter extends LeaseRequest {
  /** Answers the claim with a job handed to it, or lets it look again (undefined). */
  readonly wake: (handed?: JobRecord) => void
  /** Keeps the waiter from leaving on its own (time out, client gone) while a job is handed to it. */
  readonly hold: () => void
}

/**
 * Jobs: submit, watch, claim with leases, complete, fail with retries, cancel, RPC. Transports call
 * it; it calls the engine's JobStore. Claims wait per queue in FIFO order; lease ends and delayed
 * jobs are found by one timer armed at the engine's next due time, never by polling in a loop.
 */
export class Jobs {
  readonly #broker: Broker
  readonly #limits: JobsLimits
  readonly #random: () => number
  readonly #waiters = new Map<string, ClaimWaiter[]>()
  /** Bumped on every wake of a queue, so a claim that raced a new job tries again. */
  readonly #versions = new Map<string, number>()
  #timer: { at: number; handle: NodeJS.Timeout } | undefined
  #draining = false
  #stopNotices: (() => void) | undefined

  constructor(broker: Broker, limits: JobsLimits, random: () => number = Math.random) {
    this.#broker = broker
    this.#limits = limits
    this.#random = random
  }

  /** Claims held waiting for a job, on this node. */
  get waitingClaims(): number {
    let count = 0
    for (const waiters of this.#waiters.values()) count += waiters.length
    return count
  }

  get #store() {
    return this.#broker.engine.jobs
  }

  /** Arms the timer from what the engine holds (leases and delays survive a restart). */
  async start(): Promise<void> {
    this.#stopNotices ??= this.#store.onNotice?.((notice) => {
      if (notice.queue !== undefined) this.#wake(notice.queue, 1)
      if (notice.dueAt !== undefined) this.#arm(notice.dueAt)
      if (notice.resync) {
        for (const queue of [...this.#waiters.keys()]) this.#wake(queue, Number.POSITIVE_INFINITY)
        void this.start().catch(() => this.#arm(Date.now() + 1000))
      }
    })
    const next = await this.#store.nextDue()
    if (next !== undefined) this.#arm(next)
  }

  async submit(
    queue: string,
    body: unknown,
    idempotency?: IdempotencyKey,
  ): Promise<{ job: JobRecord; replayed: boolean }> {
    assertQueue(queue)
    const options: SubmitOptions = submitOptions(body, this.#limits.maxDataBytes)
    if (this.#draining) throw new SwitchboardError('shutting_down', 'the server is shutting down')
    // A worker already waiting on this node gets the job in the same write: no second write to claim it.
    const waiter = options.delayMs === 0 ? this.#takeWaiter(queue) : undefined
    const handTo = waiter && { lease: waiter.lease, leaseMs: waiter.leaseMs }
    let result: Submitted
    try {
      result = await this.#store.submit({ id: newJobId(), queue, ...options, handTo }, idempotency)
    } catch (error) {
      waiter?.wake()
      throw error
    }
    waiter?.wake(result.handed)
    if (!result.replayed) this.#after(result.handed ?? result.job)
    return { job: result.job, replayed: result.replayed }
  }

  async get(id: string): Promise<JobRecord> {
    const job = await this.#store.get(id)
    if (!job)
      throw new SwitchboardError('not_found', `no job ${id} (unknown, or removed after its retention)`)
    return job
  }

  /** The job once final, or as it is when `waitMs` ends (or the caller leaves, or the server drains). */
  async waitFinal(id: string, waitMs: number, signal?: AbortSignal): Promise<JobRecord> {
    const deadline = Date.now() + waitMs
    const channel = jobChannel(id)
    for (;;) {
      // The channel's end first, then the job: a change landing between them still wakes the poll.
      const seen = (await this.#broker.engine.info(channel))?.lastOffset ?? 0
      const job = await this.get(id)
      const left = deadline - Date.now()
      if (isFinal(job.state) || left <= 0 || signal?.aborted || this.#draining) return job
      await this.#broker.poll(channel, seen, 1, left, signal)
    }
  }

  /** The front job of a queue under a new lease, waiting up to `waitMs` for one; undefined if none came. */
  async claim(queue: string, askedLeaseMs: number | undefined, waitMs: number, signal?: AbortSignal) {
    assertQueue(queue)
    const leaseMs = this.#leaseMs(askedLeaseMs)
    const deadline = Date.now() + waitMs
    for (;;) {
      const version = this.#versions.get(queue) ?? 0
      const lease = newLease()
      const job = await this.#store.claim(queue, lease, leaseMs)
      if (job) {
        this.#arm(job.leaseExpiresAt as number)
        return job
      }
      const left = deadline - Date.now()
      if (left <= 0 || signal?.aborted || this.#draining) return undefined
      if ((this.#versions.get(queue) ?? 0) !== version) continue
      const handed = await this.#waitForWork(queue, { lease, leaseMs }, left, signal)
      if (handed) return handed
    }
  }

  async heartbeat(id: string, lease: string, askedLeaseMs?: number) {
    const ms = this.#leaseMs(askedLeaseMs)
    const job = await this.#change(id, { kind: 'heartbeat', lease, leaseMs: ms })
    return { cancelled: job.state === 'cancelled', lease_expires_at: job.leaseExpiresAt }
  }

  progress(id: string, lease: string, progress: unknown): Promise<JobRecord> {
    this.#checkSize(progress, 'progress')
    return this.#change(id, { kind: 'progress', lease, progress })
  }

  complete(id: string, lease: string, result: unknown): Promise<JobRecord> {
    return this.#change(id, this.#completion(lease, result))
  }

  fail(id: string, lease: string, error: unknown, retry = true): Promise<JobRecord> {
    return this.#change(id, this.#failure(lease, error, retry))
  }

  /** Completes a job and claims the next one of its queue for the same worker, in one write. */
  completeThenClaim(id: string, lease: string, result: unknown, askedLeaseMs?: number): Promise<Finished> {
    return this.#changeThenClaim(id, this.#completion(lease, result), askedLeaseMs)
  }

  /** Fails a job and claims the next one of its queue for the same worker, in one write. */
  failThenClaim(id: string, lease: string, error: unknown, retry: boolean, askedLeaseMs?: number) {
    return this.#changeThenClaim(id, this.#failure(lease, error, retry), askedLeaseMs)
  }

  cancel(id: string): Promise<JobRecord> {
    return this.#change(id, { kind: 'cancel' })
  }

  counts(queue: string): Promise<Record<JobState, number>> {
    assertQueue(queue)
    return this.#store.counts(queue)
  }

  list(queue: string, state: JobState, limit: number): Promise<JobRecord[]> {
    assertQueue(queue)
    return this.#store.list(queue, state, limit)
  }

  /**
   * RPC: a one-attempt job whose caller waits for its end. Resolves with the result; rejects with
   * `worker_failed` (the worker's error) or `timeout` (the job is then cancelled).
   */
  async call(queue: string, data: unknown, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    const wait = Math.min(timeoutMs, this.#limits.maxRpcTimeoutMs)
    const { job } = await this.submit(queue, { data, max_attempts: 1 })
    const end = await this.waitFinal(job.id, wait, signal)
    if (end.state === 'succeeded') return end.result
    if (end.state === 'failed' || end.state === 'cancelled')
      throw new SwitchboardError(
        'worker_failed',
        `the worker ${end.state === 'failed' ? 'failed' : 'was cancelled'}`,
        {
          error: end.error ?? end.state,
          job: end.id,
        },
      )
    await this.cancel(job.id).catch(() => {})
    throw new SwitchboardError('timeout', `no worker answered within ${wait} ms; the job was cancelled`, {
      job: job.id,
    })
  }

  /** Answers every held claim (empty); new claims answer at once. */
  drain(): void {
    this.#draining = true
    for (const waiters of this.#waiters.values()) for (const w of waiters.splice(0)) w.wake()
  }

  close(): void {
    this.#stopNotices?.()
    this.drain()
    if (this.#timer) clearTimeout(this.#timer.handle)
    this.#timer = undefined
  }

  async #change(id: string, change: JobChange): Promise<JobRecord> {
    const job = await this.#store.change(id, change)
    this.#after(job)
    return job
  }

  async #changeThenClaim(id: string, change: JobChange, askedLeaseMs?: number): Promise<Finished> {
    const leaseMs = this.#leaseMs(askedLeaseMs)
    if (this.#draining) return { job: await this.#change(id, change), next: undefined }
    const finished = await this.#store.changeThenClaim(id, change, { lease: newLease(), leaseMs })
    this.#after(finished.job)
    if (finished.next) this.#arm(finished.next.leaseExpiresAt as number)
    return finished
  }

  #completion(lease: string, result: unknown): JobChange {
    this.#checkSize(result, 'result')
    return { kind: 'complete', lease, result }
  }

  #failure(lease: string, error: unknown, retry: boolean): JobChange {
    this.#checkSize(error, 'error')
    return { kind: 'fail', lease, error, retry, backoff: this.#backoff() }
  }

  /** The lease a worker asked for, checked and capped (the default when it asked for none). */
  #leaseMs(asked: number | undefined): number {
    return leaseMs(asked, this.#limits.defaultLeaseMs, this.#limits.maxLeaseMs)
  }

  /** What a job's new state asks of this node: wake a claim, or the timer. */
  #after(job: JobRecord): void {
    if (job.state === 'queued') this.#wake(job.queue, 1)
    else if (job.state === 'delayed') this.#arm(job.runAt)
    else if (job.state === 'active') this.#arm(job.leaseExpiresAt as number)
  }

  /** The claim waiting longest on a queue, taken out of the line and held; undefined if none. */
  #takeWaiter(queue: string): ClaimWaiter | undefined {
    const waiters = this.#waiters.get(queue)
    const waiter = waiters?.shift()
    if (waiters?.length === 0) this.#waiters.delete(queue)
    waiter?.hold()
    return waiter
  }

  #wake(queue: string, count: number): void {
    this.#versions.set(queue, (this.#versions.get(queue) ?? 0) + 1)
    const waiters = this.#waiters.get(queue)
    if (!waiters) return
    for (const waiter of waiters.splice(0, count)) waiter.wake()
    if (waiters.length === 0) this.#waiters.delete(queue)
  }

  /** Waits for work on a queue: a job handed over, or a wake to look again (undefined). */
  #waitForWork(
    queue: string,
    claim: LeaseRequest,
    ms: number,
    signal?: AbortSignal,
  ): Promise<JobRecord | undefined> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(queue)
      if (!waiters) {
        waiters = []
        this.#waiters.set(queue, waiters)
      }
      const own = waiters
      const hold = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', leave)
      }
      const waiter: ClaimWaiter = {
        ...claim,
        hold,
        wake: (handed) => {
          hold()
          resolve(handed)
        },
      }
      const leave = () => {
        const at = own.indexOf(waiter)
        if (at >= 0) own.splice(at, 1)
        waiter.wake()
      }
      const timer = setTimeout(leave, ms)
      signal?.addEventListener('abort', leave, { once: true })
      own.push(waiter)
    })
  }

  #arm(at: number): void {
    if (this.#timer && this.#timer.at <= at) return
    if (this.#timer) clearTimeout(this.#timer.handle)
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now()))
    this.#timer = { at, handle: setTimeout(() => this.#fire(), delay) }
    this.#timer.handle.unref()
  }

  async #fire(): Promise<void> {
    this.#timer = undefined
    try {
      const changed = await this.#store.due(this.#backoff())
      const queued = new Map<string, number>()
      for (const job of changed)
        if (job.state === 'queued') queued.set(job.queue, (queued.get(job.queue) ?? 0) + 1)
      for (const [queue, count] of queued) this.#wake(queue, count)
    } catch {
      // The engine is unavailable: try again shortly.
      if (!this.#draining) this.#arm(Date.now() + 1000)
      return
    }
    const next = await this.#store.nextDue().catch(() => Date.now() + 1000)
    if (next !== undefined && !this.#draining) this.#arm(next)
  }

  #backoff(): Backoff {
    return { baseMs: this.#limits.backoffBaseMs, maxMs: this.#limits.backoffMaxMs, random: this.#random() }
  }

  #checkSize(value: unknown, what: string): void {
    const bytes = Buffer.byteLength(JSON.stringify(value ?? null))
    if (bytes > this.#limits.maxDataBytes)
      throw new SwitchboardError(
        'payload_too_large',
        `${what} of ${bytes} bytes is over the limit of ${this.#limits.maxDataBytes}`,
      )
  }
}
