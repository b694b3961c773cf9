import { randomUUID } from 'node:crypto'
import type {
  IdempotencyKey,
  JobNotice,
  JobNoticeListener,
  JobStore,
  LeaseRequest,
  Submitted,
} from '../../core/engine.js'
import { jobEventItems } from '../../core/jobs/events.js'
import { dueAt, isFinal, JOB_STATES, type JobRecord, type JobState, jobChannel } from '../../core/jobs/job.js'
import {
  type Applied,
  applyChange,
  type Backoff,
  createJob,
  type JobChange,
  type NewJob,
} from '../../core/jobs/machine.js'
import { Listeners } from '../../core/listeners.js'
import { Message } from '../../core/message.js'
import type { ChannelSettings } from '../../core/namespaces.js'
import { SwitchboardError } from '../../protocol/errors.js'
import type { RedisClient } from './connection.js'
import type { RedisKeys } from './keys.js'

interface JobScripts {
  sbJobSubmit(keys: number, ...args: (string | number | Buffer)[]): Promise<[number, string | number]>
  sbJobChange(keys: number, ...args: (string | number | Buffer)[]): Promise<number[]>
  sbJobFront(keys: number, ...args: (string | number)[]): Promise<(string | null)[]>
  sbJobPurge(keys: number, ...args: (string | number)[]): Promise<string[]>
}

interface JobEvents {
  readonly channel: string
  readonly args: (string | number | Buffer)[]
  readonly messages: (first: number, time: number) => Message[]
}

interface ClaimRequest {
  readonly lease: string
  readonly leaseMs: number
  tries: number
  readonly resolve: (applied: Applied | undefined) => void
  readonly reject: (error: unknown) => void
}

export interface RedisJobsOptions {
  readonly keys: RedisKeys
  /** Runs a command on a pooled client; a lost connection becomes `engine_unavailable`. */
  readonly run: <T>(command: (client: RedisClient) => Promise<T>) => Promise<T>
  /**
   * Runs a script that appends to `channels`, then hands the messages it wrote to this node's
   * listeners (as the engine does for its own appends).
   */
  readonly writeOwn: <T>(
    channels: readonly string[],
    write: () => Promise<T>,
    written: (result: T) => readonly Message[],
  ) => Promise<T>
  /** Retention of the job channels. */
  readonly settingsFor: (channel: string) => ChannelSettings
  /** This node's id, so that it skips its own notices. */
  readonly node: string
  readonly retentionMs: number
  readonly idempotencyWindowMs: number
}

const DUE_BATCH = 1000
/** Claims waiting on one node for one queue are served together, this many per round trip. */
const CLAIM_BATCH = 100
/** Documents remembered at most (see `change`). */
const REMEMBERED = 10_000
const PURGE_BATCH = 500
/** A change that lost a race with another node's reads the job again; this many times at most. */
const MAX_RETRIES = 50

/**
 * Jobs on Redis, shared by every node. Each write reads the job, runs the core's state machine
 * and stores the result with a compare-and-set script, so two nodes never both win: a claim that
 * loses takes the next job, a change that loses is applied again to what the other node wrote.
 * The job's events are then appended to `$job:<id>`. Nodes tell each other on one pub/sub channel
 * when a queue got a job and when a lease or delay will end, so that claims and timers on every
 * node wake at once.
 */
export class RedisJobs implements JobStore {
  readonly #o: RedisJobsOptions
  readonly #notices = new Listeners<[JobNotice]>()
  /**
   * Claims waiting per queue on this node. They are served in rounds, a batch at a time, so that
   * they never race each other for the same front job, and share one read and one write.
   */
  readonly #claims = new Map<string, ClaimRequest[]>()
  /** The documents this node last stored, oldest first, for the jobs still in play. */
  readonly #written = new Map<string, string>()

  constructor(options: RedisJobsOptions) {
    this.#o = options
  }

  async submit(spec: NewJob, idempotency?: IdempotencyKey): Promise<Submitted> {
    const keys = this.#o.keys
    const now = Date.now()
    const applied = createJob(spec, now)
    const { job } = applied
    const doc = JSON.stringify(job)
    const events = this.#events(applied)
    const [status, second] = await this.#o.writeOwn(
      [events.channel],
      () =>
        this.#scripts((s) =>
          s.sbJobSubmit(
            7,
            keys.job(job.id),
            idempotency ? keys.jobIdempotency(idempotency.scope, idempotency.key) : keys.job(job.id),
            keys.queue(job.queue),
            keys.due,
            keys.jobState(job.queue, job.state),
            keys.stream(events.channel),
            keys.meta(events.channel),
            ...this.#head(now),
            doc,
            job.id,
            idempotency ? '1' : '0',
            this.#o.idempotencyWindowMs,
            job.state === 'queued' ? '1' : '0',
            dueAt(job) ?? '',
            job.createdAt,
            ...events.args,
          ),
        ),
      ([code, first]) => (code === 0 ? events.messages(Number(first), now) : []),
    )
    if (status === 1) {
      const first = await this.get(String(second))
      if (first) return { job: first, replayed: true }
      return this.submit(spec) // the first job is gone past its retention: this is a new one
    }
    if (status === 2) throw new SwitchboardError('conflict', `job ${spec.id} exists`)
    if (job === applied.submitted) return { job, replayed: false }
    // Handed to a worker of this node: its next change starts from this document.
    this.#remember(applied, doc)
    return { job: applied.submitted, replayed: false, handed: job }
  }

  async claim(queue: string, lease: string, leaseMs: number): Promise<JobRecord | undefined> {
    const applied = await new Promise<Applied | undefined>((resolve, reject) => {
      let pending = this.#claims.get(queue)
      const first = !pending
      if (!pending) {
        pending = []
        this.#claims.set(queue, pending)
      }
      pending.push({ lease, leaseMs, tries: 0, resolve, reject })
      if (first) void this.#serveClaims(queue, pending)
    })
    return applied?.job
  }

  /** Rounds of claims until none waits: the front jobs for the waiting claims, then one write. */
  async #serveClaims(queue: string, pending: ClaimRequest[]): Promise<void> {
    const keys = this.#o.keys
    while (pending.length > 0) {
      const batch = pending.splice(0, CLAIM_BATCH)
      try {
        const front = await this.#scripts((s) =>
          s.sbJobFront(1, keys.queue(queue), keys.jobPrefix, batch.length),
        )
        const tries: { request: ClaimRequest; doc: string }[] = []
        const vanished: string[] = []
        for (let i = 0; i < batch.length; i++) {
          const [id, doc] = [front[2 * i], front[2 * i + 1]]
          if (id === undefined || id === null)
            batch[i].resolve(undefined) // the queue is empty
          else if (doc === null) {
            vanished.push(id)
            pending.unshift(batch[i])
          } else tries.push({ request: batch[i], doc })
        }
        // A job removed while queued (cannot happen through the API): drop its id.
        for (const id of vanished) await this.#o.run((c) => c.lrem(keys.queue(queue), 1, id))
        const now = Date.now()
        const stored = await this.#compareAndSet(
          tries.map(({ request, doc }) => ({
            doc,
            change: { kind: 'claim', lease: request.lease, leaseMs: request.leaseMs },
          })),
          now,
        )
        stored.forEach((applied, i) => {
          const { request } = tries[i]
          if (applied) request.resolve(applied)
          else if (++request.tries >= MAX_RETRIES) request.resolve(undefined)
          else pending.unshift(request) // another node took that job: try the next one
        })
      } catch (error) {
        for (const request of batch) request.reject(error)
      }
    }
    this.#claims.delete(queue)
  }

  async change(id: string, change: JobChange): Promise<JobRecord> {
    // The document this node last wrote saves a read; if another node changed the job since, the
    // compare-and-set fails (or the stale view refuses the change) and the job is read afresh.
    let doc = this.#written.get(id)
    let remembered = doc !== undefined
    for (let tries = 0; tries < MAX_RETRIES; tries++) {
      if (doc === undefined) {
        const read = await this.#o.run((c) => c.get(this.#o.keys.job(id)))
        if (read === null) throw new SwitchboardError('not_found', `no job ${id}`)
        doc = read
        remembered = false
      }
      let applied: Applied | undefined
      try {
        applied = await this.#store(doc, change, Date.now())
      } catch (error) {
        if (!remembered) throw error
      }
      if (applied) return applied.job
      doc = undefined
    }
    throw new SwitchboardError('engine_unavailable', `job ${id} kept changing under this write; try again`)
  }

  /**
   * The change, then a claim, as two writes: on Redis a write costs a round trip, not an fsync, and
   * the claim goes through this node's batched claims like any other.
   */
  async changeThenClaim(id: string, change: JobChange, next: LeaseRequest) {
    const job = await this.change(id, change)
    return { job, next: await this.claim(job.queue, next.lease, next.leaseMs) }
  }

  async due(backoff: Backoff): Promise<JobRecord[]> {
    const keys = this.#o.keys
    const now = Date.now()
    await this.#purge(now)
    const ids = await this.#o.run((c) => c.zrangebyscore(keys.due, '-inf', now, 'LIMIT', 0, DUE_BATCH))
    const changed: JobRecord[] = []
    for (const id of ids) {
      const doc = await this.#o.run((c) => c.get(keys.job(id)))
      if (doc === null) {
        await this.#o.run((c) => c.zrem(keys.due, id))
        continue
      }
      // Another node may handle it first: then the compare-and-set fails and this one leaves it.
      const applied = await this.#store(doc, { kind: 'due', backoff }, now).catch(() => undefined)
      if (applied) changed.push(applied.job)
    }
    return changed
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const doc = await this.#o.run((c) => c.get(this.#o.keys.job(id)))
    return doc === null ? undefined : (JSON.parse(doc) as JobRecord)
  }

  async nextDue(): Promise<number | undefined> {
    const [, score] = await this.#o.run((c) => c.zrange(this.#o.keys.due, 0, 0, 'WITHSCORES'))
    return score === undefined ? undefined : Number(score)
  }

  async list(queue: string, state: JobState, limit: number): Promise<JobRecord[]> {
    const keys = this.#o.keys
    const ids = await this.#o.run((c) => c.zrange(keys.jobState(queue, state), 0, limit - 1))
    if (ids.length === 0) return []
    const docs = await this.#o.run((c) => c.mget(...ids.map((id) => keys.job(id))))
    return docs.filter((doc): doc is string => doc !== null).map((doc) => JSON.parse(doc) as JobRecord)
  }

  async counts(queue: string): Promise<Record<JobState, number>> {
    const keys = this.#o.keys
    const sizes = await Promise.all(
      JOB_STATES.map((state) => this.#o.run((c) => c.zcard(keys.jobState(queue, state)))),
    )
    return Object.fromEntries(JOB_STATES.map((state, i) => [state, sizes[i]])) as Record<JobState, number>
  }

  onNotice(listener: JobNoticeListener): () => void {
    return this.#notices.add(listener)
  }

  /** A notice from the pub/sub channel: `<node>\nq\n<queue>` or `<node>\nd\n<time>`. */
  received(text: string): void {
    const [node, kind, value] = text.split('\n')
    if (node === this.#o.node || value === undefined) return
    if (kind === 'q') this.#notices.emit({ queue: value })
    else if (kind === 'd') this.#notices.emit({ dueAt: Number(value) })
  }

  /** After a lost subscription: notices may have been missed, so listeners look again. */
  resync(): void {
    this.#notices.emit({ resync: true })
  }

  /**
   * Applies `change` to the job as read (`doc`) and stores it if nobody changed it meanwhile;
   * undefined when somebody did. A refused change (stale lease, wrong state) throws, storing nothing.
   */
  async #store(doc: string, change: JobChange, now: number): Promise<Applied | undefined> {
    const [applied] = await this.#compareAndSet([{ doc, change }], now)
    return applied
  }

  /**
   * Applies each change to its job as read, and stores all of them in one script; per change, the
   * result, or undefined when the job had changed meanwhile. A refused change (stale lease, wrong
   * state) throws before anything is stored.
   */
  async #compareAndSet(
    changes: readonly { doc: string; change: JobChange }[],
    now: number,
  ): Promise<(Applied | undefined)[]> {
    const keys = this.#o.keys
    const results: (Applied | undefined)[] = []
    const writeKeys: string[] = []
    const args: (string | number | Buffer)[] = []
    const written: { index: number; events: JobEvents; doc: string }[] = []
    changes.forEach(({ doc, change }, i) => {
      const job = JSON.parse(doc) as JobRecord
      const applied = applyChange(job, change, now)
      results.push(applied)
      const next = applied.job
      if (next === job) return
      const events = this.#events(applied)
      const nextDoc = JSON.stringify(next)
      written.push({ index: i, events, doc: nextDoc })
      writeKeys.push(
        keys.job(job.id),
        keys.queue(job.queue),
        keys.due,
        keys.jobState(job.queue, job.state),
        keys.jobState(job.queue, next.state),
        keys.ended,
        keys.stream(events.channel),
        keys.meta(events.channel),
      )
      args.push(
        doc,
        nextDoc,
        job.id,
        next.state === 'queued' && job.state !== 'queued' ? '1' : '0',
        job.state === 'queued' && next.state !== 'queued' ? '1' : '0',
        dueAt(next) ?? '',
        next.createdAt,
        next.finishedAt ?? '',
        ...events.args,
      )
    })
    if (written.length === 0) return results
    const flags = await this.#o.writeOwn(
      written.map((w) => w.events.channel),
      () => this.#scripts((s) => s.sbJobChange(writeKeys.length, ...writeKeys, ...this.#head(now), ...args)),
      (answer) =>
        written.flatMap(({ events }, k) =>
          answer[2 * k] === 1 ? events.messages(answer[2 * k + 1], now) : [],
        ),
    )
    written.forEach(({ index, doc }, k) => {
      if (flags[2 * k] !== 1) results[index] = undefined
      else this.#remember(results[index] as Applied, doc)
    })
    return results
  }

  /** Keeps the document just stored for a job still in play; forgets finished ones. */
  #remember({ job }: Applied, doc: string): void {
    this.#written.delete(job.id)
    if (isFinal(job.state)) return
    this.#written.set(job.id, doc)
    if (this.#written.size > REMEMBERED) this.#written.delete(this.#written.keys().next().value as string)
  }

  /** ARGV head of the writing scripts: now, the job channels' retention, the two topics. */
  #head(now: number): (string | number)[] {
    const settings = this.#o.settingsFor(jobChannel(''))
    return [now, settings.maxMessages, settings.maxAgeMs, this.#o.keys.notify, this.#o.keys.jobsNotify]
  }

  /**
   * A change's events for the script (channel name, counts, four fields per event, then notices
   * for the other nodes), and how to make the messages once the script gave the first offset.
   */
  #events({ job, events }: Applied): JobEvents {
    const channel = jobChannel(job.id)
    const items = jobEventItems([{ job, events }])
    const ids = items.map(() => randomUUID())
    const notices: string[] = []
    if (job.state === 'queued') notices.push(`${this.#o.node}\nq\n${job.queue}`)
    const at = dueAt(job)
    if (at !== null && events.length > 0) notices.push(`${this.#o.node}\nd\n${at}`)
    const args: (string | number | Buffer)[] = [channel, items.length, notices.length]
    items.forEach((item, i) => {
      // Text, not bytes: ioredis writes an all-string command without copying each part to a buffer.
      args.push(ids[i], item.contentType, JSON.stringify(item.headers), item.text)
    })
    args.push(...notices)
    return {
      channel,
      args,
      messages: (first, time) =>
        first > 0
          ? items.map((item, i) => new Message({ ...item, offset: first + i, id: ids[i], time }))
          : [],
    }
  }

  async #purge(now: number): Promise<void> {
    const keys = this.#o.keys
    await this.#scripts((s) =>
      s.sbJobPurge(
        1,
        keys.ended,
        now - this.#o.retentionMs,
        PURGE_BATCH,
        keys.jobPrefix,
        keys.jobStatePrefix,
        keys.jobChannelPrefix,
      ),
    )
  }

  #scripts<T>(command: (scripts: JobScripts) => Promise<T>): Promise<T> {
    return this.#o.run((client) => command(client as unknown as JobScripts))
  }
}
