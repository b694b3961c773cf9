import type { JobRecord, JobState } from './jobs/job.js'
import type { Backoff, JobChange, NewJob } from './jobs/machine.js'
import type { Message, MessageHeaders } from './message.js'
import type { ChannelSettings } from './namespaces.js'
import type { SharedPresence } from './presence.js'

/**
 * The storage port. Engines (memory, SQLite, Redis) implement it; the core is written against it
 * alone. Everything is asynchronous and takes batches, so that a networked engine shared by many
 * nodes fits the same shape as an embedded one.
 */
export interface Engine {
  /** `memory`, `sqlite`, `redis`: for logs and /readyz. */
  readonly kind: string

  /**
   * Appends every item or none, each at the next offset of its channel, and resolves once the
   * batch is durable under the engine's durability mode. With an idempotency key already used in
   * its scope (within the window), stores nothing and resolves with the first call's coordinates.
   */
  append(items: readonly AppendItem[], idempotency?: IdempotencyKey): Promise<AppendResult>

  /** Up to `limit` messages with offset > `after`, oldest first; `after` below the oldest retained reads from it. */
  read(channel: string, after: number, limit: number): Promise<Message[]>

  /** Offsets and sizes of a channel, or undefined if nothing was ever published to it. */
  info(channel: string): Promise<ChannelInfo | undefined>

  /**
   * Tells `listener` of messages appended to any channel, by this node or by another one sharing
   * the engine, in offset order per channel. Returns a function that removes the listener.
   */
  onMessages(listener: MessagesListener): () => void
  /**
   * Which channels this node's listeners want now. A shared engine may then skip reading what
   * other nodes wrote to the rest (a listener that starts later reads the log itself).
   */
  setInterest?(wants: (channel: string) => boolean): void

  /** Names of the channels ever written (durable or ephemeral) that start with `prefix`, in name order. */
  channels(prefix: string): Promise<string[]>

  /** Small named positions kept beside the logs: where a consumer such as a webhook got to. */
  readonly cursors: Cursors

  /** Jobs: their records and atomic state changes, each with its events on `$job:<id>`. */
  readonly jobs: JobStore
  /** Presence across nodes, for engines shared by several (Redis); absent: each node's own. */
  readonly presence?: SharedPresence

  /** Resolves when the engine answers (for /readyz); rejects otherwise. */
  ping(): Promise<void>

  /** Finishes pending writes, then releases every resource. */
  close(): Promise<void>
}

/** Named offsets, durable in durable engines (ephemeral channels included). */
export interface Cursors {
  get(name: string): Promise<number | undefined>
  /** Resolves once the value is stored under the engine's durability mode. */
  set(name: string, offset: number): Promise<void>
  /** Every cursor whose name starts with `prefix`. */
  list(prefix: string): Promise<Map<string, number>>
}

export interface AppendItem {
  readonly channel: string
  readonly headers: MessageHeaders
  readonly contentType: string
  readonly payload: Uint8Array
}

export interface IdempotencyKey {
  /** What the key is unique within: the route and its channel or queue. */
  readonly scope: string
  readonly key: string
}

/** Where a stored message landed. */
export interface Coordinates {
  readonly channel: string
  readonly offset: number
  readonly id: string
  readonly time: number
}

export interface AppendResult {
  /** One per item, in input order. */
  readonly coordinates: readonly Coordinates[]
  /** True when an earlier call with the same idempotency key produced these coordinates. */
  readonly replayed: boolean
}

export interface ChannelInfo {
  readonly channel: string
  /** Offset of the oldest retained message; `lastOffset + 1` when none is retained. */
  readonly firstOffset: number
  readonly lastOffset: number
  readonly messages: number
  readonly bytes: number
}

export type MessagesListener = (channel: string, messages: readonly Message[]) => void

/** What every engine is built from. */
export interface EngineOptions {
  /** Retention and persistence of each channel. */
  readonly settingsFor: (channel: string) => ChannelSettings
  /** How long an idempotency key is remembered, in milliseconds. */
  readonly idempotencyWindowMs: number
  /** How long a finished job is kept, in milliseconds (default 24 h). */
  readonly jobRetentionMs?: number
}

/** A lease to claim a job under: its token and how long it lasts. */
export interface LeaseRequest {
  readonly lease: string
  readonly leaseMs: number
}

/** A finished job and the next one its worker claimed, if one was queued. */
export interface Finished {
  readonly job: JobRecord
  readonly next: JobRecord | undefined
}

export interface Submitted {
  /** The job as submitted (or the first one, replayed). */
  readonly job: JobRecord
  readonly replayed: boolean
  /** The job claimed for `spec.handTo`, when it was. */
  readonly handed?: JobRecord
}

/**
 * Where jobs live. Every write is atomic and appends the job's events (`state`, `progress`,
 * `result`) to its channel `$job:<id>` in the same write, announced like any message.
 */
export interface JobStore {
  /**
   * Stores a new job, or with an idempotency key already used, answers the first one. With
   * `spec.handTo`, the new job is claimed under that lease in the same write: `handed` is it then.
   */
  submit(spec: NewJob, idempotency?: IdempotencyKey): Promise<Submitted>
  /** The front job of a queue, now active under `lease`; undefined when none is queued. */
  claim(queue: string, lease: string, leaseMs: number): Promise<JobRecord | undefined>
  /** Applies a change (heartbeat, progress, complete, fail, cancel): `not_found`, `lease_expired`. */
  change(id: string, change: JobChange): Promise<JobRecord>
  /**
   * Applies a change, then claims the front job of the changed job's queue under `next` (if one is
   * queued): a worker finishing a job takes the next one in the same write. A refused change claims
   * nothing.
   */
  changeThenClaim(id: string, change: JobChange, next: LeaseRequest): Promise<Finished>
  /** Ends run-out leases and releases delayed jobs whose time came; answers the jobs it changed. */
  due(backoff: Backoff): Promise<JobRecord[]>
  get(id: string): Promise<JobRecord | undefined>
  /** The next time a lease ends or a delay is over, if any. */
  nextDue(): Promise<number | undefined>
  /** Jobs of a queue in a state, oldest first. */
  list(queue: string, state: JobState, limit: number): Promise<JobRecord[]>
  counts(queue: string): Promise<Record<JobState, number>>
  /** A shared engine tells each node what other nodes did, so its claims and timer wake at once. */
  onNotice?(listener: JobNoticeListener): () => void
}

/** Another node queued a job on `queue`, or set a lease or delay that ends at `dueAt`; `resync`: look again. */
export interface JobNotice {
  readonly queue?: string
  readonly dueAt?: number
  readonly resync?: boolean
}

export type JobNoticeListener = (notice: JobNotice) => void
