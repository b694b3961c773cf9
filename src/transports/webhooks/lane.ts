import { setTimeout as sleep } from 'node:timers/promises'
import type { Broker } from '../../core/broker.js'
import type { Message } from '../../core/message.js'
import { backoffMs } from './backoff.js'
import { describeFailure, type Endpoint } from './endpoint.js'

/** Messages read from the log per page while catching up. */
const PAGE = 100

/** What a lane tells its dispatcher: for logs and metrics. */
export interface LaneEvents {
  delivered(lane: Lane): void
  failed(lane: Lane, error: string): void
  recovered(lane: Lane, failures: number): void
  /** Messages retention removed before they could be delivered. */
  skipped(lane: Lane, from: number, to: number): void
  /** A read or a cursor write failed; the lane tries again later. */
  faulted(lane: Lane, error: unknown): void
}

export interface LaneOptions {
  readonly endpoint: Endpoint
  readonly channel: string
  readonly broker: Broker
  readonly events: LaneEvents
  /** Aborted when the dispatcher stops: the request in flight is abandoned, its cursor not advanced. */
  readonly signal: AbortSignal
}

/** The JSON of a lane on `GET /v1/webhooks`. */
export interface LaneStatus {
  channel: string
  /** Offset of the last message the endpoint acknowledged (0: none yet); null until loaded. */
  delivered_offset: number | null
  last_offset: number
  lag: number
  consecutive_failures: number
  last_error: string | null
  /** Milliseconds since the epoch of the next try, while failing. */
  next_retry_at: number | null
}

/**
 * The delivery of one channel to one endpoint: strictly in offset order, the next message only once
 * the previous one got a 2xx, retried with backoff for ever. The delivered offset is kept in the
 * engine as a cursor, so a restart resumes where delivery stopped.
 */
export class Lane {
  readonly endpoint: Endpoint
  readonly channel: string
  readonly cursorName: string
  /** Last offset the endpoint acknowledged; undefined until read from the engine. */
  cursor: number | undefined
  /** The highest offset known to exist. */
  target = 0
  failures = 0
  lastError: string | undefined
  nextRetryAt: number | undefined
  readonly #options: LaneOptions
  #running: Promise<void> | undefined
  #unsaved: number | undefined
  #saving: Promise<void> | undefined

  constructor(options: LaneOptions) {
    this.#options = options
    this.endpoint = options.endpoint
    this.channel = options.channel
    this.cursorName = cursorName(options.endpoint.pattern, options.channel)
  }

  /** Sets the stored cursor (read in bulk at start) and the channel's last offset. */
  seed(stored: number | undefined, lastOffset: number): void {
    this.cursor ??= resumeFrom(stored, lastOffset)
    this.notify(lastOffset)
  }

  /** Messages up to `lastOffset` exist: delivers them unless already on it. */
  notify(lastOffset: number): void {
    if (lastOffset > this.target) this.target = lastOffset
    this.#kick()
  }

  /** Caught up, healthy, nothing running or unsaved: can be dropped and made again from its cursor. */
  get idle(): boolean {
    return !this.#running && !this.#saving && this.failures === 0 && this.lag === 0
  }

  get lag(): number {
    return Math.max(0, this.target - (this.cursor ?? 0))
  }

  status(): LaneStatus {
    return {
      channel: this.channel,
      delivered_offset: this.cursor ?? null,
      last_offset: this.target,
      lag: this.lag,
      consecutive_failures: this.failures,
      last_error: this.lastError ?? null,
      next_retry_at: this.nextRetryAt ?? null,
    }
  }

  /** Resolves once the loop has stopped (after the dispatcher's abort) and the cursor is stored. */
  async settled(): Promise<void> {
    await this.#running
    await this.#saving
  }

  #kick(): void {
    if (this.#running || this.#options.signal.aborted) return
    if (this.cursor !== undefined && this.cursor >= this.target) return
    this.#running = this.#run()
      .catch(async (error: unknown) => {
        this.#options.events.faulted(this, error)
        await sleep(1000, undefined, { signal: this.#options.signal }).catch(() => undefined)
      })
      .finally(() => {
        this.#running = undefined
        this.#kick()
      })
  }

  async #run(): Promise<void> {
    const { broker, signal } = this.#options
    if (this.cursor === undefined) {
      const stored = await broker.engine.cursors.get(this.cursorName)
      this.cursor = resumeFrom(stored, (await broker.info(this.channel))?.lastOffset ?? 0)
    }
    while (!signal.aborted && this.cursor < this.target) {
      let page: readonly Message[] | undefined = (await broker.read(this.channel, this.cursor, PAGE)).messages
      if (page.length === 0) {
        const info = await broker.info(this.channel)
        if (!info || info.firstOffset <= this.cursor + 1) {
          // Nothing after the cursor (an ephemeral channel restarted below it): wait for news.
          this.target = this.cursor
          return
        }
        // Retention removed every message after the cursor.
        this.#skipTo(info.firstOffset - 1)
        continue
      }
      if (page[0].offset > this.cursor + 1) this.#skipTo(page[0].offset - 1)
      for (let i = 0; page !== undefined && i < page.length; i++) {
        const message: Message = page[i]
        const outcome = await this.#attempt(message, 1)
        if (outcome === 'stopped') return
        if (outcome === 'failed') {
          // Keep only the failing message while retrying, so a dead endpoint holds little memory;
          // the rest is read again from the log afterwards.
          page = undefined
          if (!(await this.#retry(message))) return
        }
        this.cursor = message.offset
        this.#save(message.offset)
      }
    }
  }

  /** Tries again after each backoff until a 2xx; false when the dispatcher stopped first. */
  async #retry(message: Message): Promise<boolean> {
    const { signal } = this.#options
    for (let attempt = 2; ; attempt++) {
      try {
        await sleep(Math.max(0, (this.nextRetryAt ?? 0) - Date.now()), undefined, { signal })
      } catch {
        return false
      }
      const outcome = await this.#attempt(message, attempt)
      if (outcome !== 'failed') return outcome === 'delivered'
    }
  }

  /** One POST of `message`, within the endpoint's bound on requests in flight. */
  async #attempt(message: Message, attempt: number): Promise<'delivered' | 'failed' | 'stopped'> {
    const { endpoint, events, signal } = this.#options
    const release = await endpoint.slots.acquire()
    try {
      if (signal.aborted) return 'stopped'
      await endpoint.post(message, attempt, signal)
    } catch (error) {
      if (signal.aborted) return 'stopped'
      this.failures += 1
      this.lastError = describeFailure(error)
      this.nextRetryAt = Date.now() + backoffMs(this.failures, endpoint.settings.maxBackoffMs)
      events.failed(this, this.lastError)
      return 'failed'
    } finally {
      release()
    }
    const failures = this.failures
    this.failures = 0
    this.lastError = undefined
    this.nextRetryAt = undefined
    if (failures > 0) events.recovered(this, failures)
    events.delivered(this)
    return 'delivered'
  }

  /** Moves the cursor over messages retention removed before they were delivered, and says so. */
  #skipTo(offset: number): void {
    this.#options.events.skipped(this, (this.cursor ?? 0) + 1, offset)
    this.cursor = offset
    this.#save(offset)
  }

  /** Stores the cursor in the background, the latest value winning, one write at a time. */
  #save(offset: number): void {
    this.#unsaved = offset
    this.#saving ??= (async () => {
      while (this.#unsaved !== undefined) {
        const value = this.#unsaved
        this.#unsaved = undefined
        try {
          await this.#options.broker.engine.cursors.set(this.cursorName, value)
        } catch (error) {
          this.#options.events.faulted(this, error)
        }
      }
      this.#saving = undefined
    })()
  }
}

/** The engine cursor of a (webhook, channel) pair. */
export function cursorName(pattern: string, channel: string): string {
  return `${cursorPrefix(pattern)}${channel}`
}

export function cursorPrefix(pattern: string): string {
  return `webhook/${pattern}/`
}

/** Where to resume: the stored cursor, unless the log restarted below it (an ephemeral channel). */
function resumeFrom(stored: number | undefined, lastOffset: number): number {
  return stored === undefined || stored > lastOffset ? 0 : stored
}
