import { Counter, Gauge } from 'prom-client'
import type { Metrics } from '../../observe/metrics.js'
import type { Endpoint } from './endpoint.js'
import type { Lane } from './lane.js'

/** Prometheus metrics of webhooks, labelled by the namespace pattern of the webhook. */
export class WebhookMetrics {
  readonly deliveries: Counter<'webhook'>
  readonly failures: Counter<'webhook'>
  readonly skipped: Counter<'webhook'>

  constructor(metrics: Metrics, endpoints: () => Iterable<{ endpoint: Endpoint; lanes: Iterable<Lane> }>) {
    const registers = [metrics.registry]
    this.deliveries = new Counter({
      name: 'switchboard_webhook_deliveries_total',
      help: 'Messages a webhook endpoint acknowledged with a 2xx',
      labelNames: ['webhook'],
      registers,
    })
    this.failures = new Counter({
      name: 'switchboard_webhook_failures_total',
      help: 'Webhook tries that failed (non-2xx, timeout, connection error) and will be retried',
      labelNames: ['webhook'],
      registers,
    })
    this.skipped = new Counter({
      name: 'switchboard_webhook_skipped_total',
      help: 'Messages removed by retention before their webhook could deliver them',
      labelNames: ['webhook'],
      registers,
    })
    const perEndpoint = (name: string, help: string, read: (lanes: Iterable<Lane>) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['webhook'],
        registers,
        collect() {
          for (const { endpoint, lanes } of endpoints()) this.set({ webhook: endpoint.pattern }, read(lanes))
        },
      })
    perEndpoint('switchboard_webhook_lag_messages', 'Messages published but not yet delivered', (lanes) =>
      sum(lanes, (lane) => lane.lag),
    )
    perEndpoint('switchboard_webhook_failing_channels', 'Channels whose last webhook try failed', (lanes) =>
      sum(lanes, (lane) => (lane.failures > 0 ? 1 : 0)),
    )
  }
}

function sum(lanes: Iterable<Lane>, value: (lane: Lane) => number): number {
  let total = 0
  for (const lane of lanes) total += value(lane)
  return total
}
