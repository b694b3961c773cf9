import type { Broker } from '../../core/broker.js'
import type { WebhookSettings } from '../../core/namespaces.js'
import type { Metrics } from '../../observe/metrics.js'
import { Endpoint } from './endpoint.js'
import { cursorPrefix, Lane, type LaneEvents, type LaneStatus } from './lane.js'
import { WebhookMetrics } from './metrics.js'

/** Where the dispatcher reports; pino's logger fits. */
export interface WebhookLog {
  warn(fields: object, message: string): void
  error(fields: object, message: string): void
}

export interface WebhookDispatcherOptions {
  readonly broker: Broker
  readonly metrics: Metrics
  readonly log: WebhookLog
  /** Lanes kept per webhook before idle ones are dropped (default 10,000). */
  readonly maxLanes?: number
}

/** The JSON of one webhook on `GET /v1/webhooks`. */
export interface WebhookStatus {
  pattern: string
  url: string
  /** True while at least one channel's last try failed. */
  failing: boolean
  /** Since when (ms since the epoch) the endpoint has been failing. */
  failing_since: number | null
  lag: number
  /** Channels this webhook knows of; `channels` lists the `limit` most behind. */
  channels_total: number
  channels: LaneStatus[]
}

export interface StatusQuery {
  /** Most channels listed per webhook: failing ones first, then the most behind. */
  readonly limit: number
  /** Only this channel. */
  readonly channel?: string
}

/** Lanes kept per webhook before idle ones (caught up, healthy) are dropped; they reload their cursor. */
const MAX_LANES = 10_000

interface EndpointState {
  readonly endpoint: Endpoint
  readonly lanes: Map<string, Lane>
  /** Lanes whose last try failed: the endpoint is reported failing while this is not empty. */
  readonly failing: Set<Lane>
  failingSince: number | undefined
}

/**
 * Pushes the messages of every channel whose namespace has a webhook: one lane per channel (in order,
 * retried for ever), channels in parallel up to the endpoint's connection bound. New messages wake
 * their lane through the broker; after a restart, lanes resume from the cursors stored in the engine.
 */
export class WebhookDispatcher {
  readonly #broker: Broker
  readonly #log: WebhookLog
  readonly #maxLanes: number
  readonly #endpoints = new Map<WebhookSettings, EndpointState>()
  readonly #stop = new AbortController()
  readonly #metrics: WebhookMetrics | undefined
  #unlisten: (() => void) | undefined
  #resuming: Promise<void> | undefined

  constructor(options: WebhookDispatcherOptions) {
    this.#broker = options.broker
    this.#log = options.log
    this.#maxLanes = options.maxLanes ?? MAX_LANES
    for (const rule of options.broker.namespaces.rules) {
      if (!rule.webhook) continue
      const endpoint = new Endpoint(rule.pattern, rule.webhook)
      this.#endpoints.set(rule.webhook, {
        endpoint,
        lanes: new Map(),
        failing: new Set(),
        failingSince: undefined,
      })
    }
    if (this.#endpoints.size > 0) {
      this.#metrics = new WebhookMetrics(options.metrics, () =>
        [...this.#endpoints.values()].map((e) => ({ endpoint: e.endpoint, lanes: e.lanes.values() })),
      )
    }
  }

  /** Listens for new messages, then finds channels with messages not yet delivered (after a restart). */
  start(): Promise<void> {
    if (this.#endpoints.size === 0 || this.#unlisten || this.#stop.signal.aborted) return Promise.resolve()
    this.#unlisten = this.#broker.onMessages((channel, messages) => {
      if (messages.length > 0) this.#lane(channel)?.notify(messages[messages.length - 1].offset)
    })
    this.#resuming = (async () => {
      for (const state of this.#endpoints.values()) await this.#resume(state)
    })()
    return this.#resuming
  }

  /**
   * Stops delivering: requests in flight are abandoned (their messages count as not delivered and go
   * again after a restart) and every acknowledged offset is stored before this resolves.
   */
  async stop(): Promise<void> {
    this.#unlisten?.()
    this.#stop.abort()
    await this.#resuming?.catch(() => undefined)
    for (const state of this.#endpoints.values()) {
      await Promise.all([...state.lanes.values()].map((lane) => lane.settled()))
      await state.endpoint.close()
    }
  }

  status({ limit, channel }: StatusQuery): WebhookStatus[] {
    return [...this.#endpoints.values()].map((state) => {
      const lanes = [...state.lanes.values()].filter(
        (lane) => channel === undefined || lane.channel === channel,
      )
      const worst = lanes
        .sort((a, b) => b.failures - a.failures || b.lag - a.lag || (a.channel < b.channel ? -1 : 1))
        .slice(0, limit)
      return {
        pattern: state.endpoint.pattern,
        url: state.endpoint.displayUrl,
        failing: state.failing.size > 0,
        failing_since: state.failingSince ?? null,
        lag: lanes.reduce((total, lane) => total + lane.lag, 0),
        channels_total: lanes.length,
        channels: worst.map((lane) => lane.status()),
      }
    })
  }

  async #resume(state: EndpointState): Promise<void> {
    const { pattern, settings } = state.endpoint
    const prefix = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern
    const cursors = await this.#broker.engine.cursors.list(cursorPrefix(pattern))
    for (const channel of await this.#broker.engine.channels(prefix)) {
      if (this.#stop.signal.aborted) return
      if (this.#broker.namespaces.settingsFor(channel).webhook !== settings) continue
      const info = await this.#broker.engine.info(channel)
      const lane = this.#lane(channel)
      lane?.seed(cursors.get(lane.cursorName), info?.lastOffset ?? 0)
    }
  }

  #lane(channel: string): Lane | undefined {
    const webhook = this.#broker.namespaces.settingsFor(channel).webhook
    const state = webhook && this.#endpoints.get(webhook)
    if (!state) return undefined
    let lane = state.lanes.get(channel)
    if (!lane) {
      if (state.lanes.size >= this.#maxLanes) {
        for (const [name, idle] of state.lanes) if (idle.idle) state.lanes.delete(name)
      }
      lane = new Lane({
        endpoint: state.endpoint,
        channel,
        broker: this.#broker,
        events: this.#events(state),
        signal: this.#stop.signal,
      })
      state.lanes.set(channel, lane)
    }
    return lane
  }

  #events(state: EndpointState): LaneEvents {
    const { endpoint } = state
    const labels = { webhook: endpoint.pattern }
    const where = (lane: { channel: string }) => ({
      webhook: endpoint.pattern,
      url: endpoint.displayUrl,
      channel: lane.channel,
    })
    return {
      delivered: () => this.#metrics?.deliveries.inc(labels),
      failed: (lane, error) => {
        this.#metrics?.failures.inc(labels)
        if (state.failing.has(lane)) return
        state.failing.add(lane)
        if (state.failing.size > 1) return
        state.failingSince = Date.now()
        this.#log.warn({ ...where(lane), error }, 'webhook endpoint is failing; retrying with backoff')
      },
      recovered: (lane, failures) => {
        state.failing.delete(lane)
        if (state.failing.size > 0) return
        const downMs = Date.now() - (state.failingSince ?? Date.now())
        state.failingSince = undefined
        this.#log.warn({ ...where(lane), failures, downMs }, 'webhook endpoint recovered')
      },
      skipped: (lane, from, to) => {
        this.#metrics?.skipped.inc(labels, to - from + 1)
        this.#log.warn(
          { ...where(lane), from, to },
          'messages were removed by retention before their webhook delivered them',
        )
      },
      faulted: (lane, error) => {
        if (!this.#stop.signal.aborted) this.#log.error({ ...where(lane), err: error }, 'webhook lane failed')
      },
    }
  }
}
