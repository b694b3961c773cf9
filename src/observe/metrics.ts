import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'

/** The server's Prometheus metrics, served at /metrics. */
export class Metrics {
  readonly registry = new Registry()
  readonly published: Counter<'engine'>
  readonly httpRequests: Counter<'status'>

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' })
    this.published = new Counter({
      name: 'switchboard_messages_published_total',
      help: 'Messages stored by publishes',
      labelNames: ['engine'],
      registers: [this.registry],
    })
    this.httpRequests = new Counter({
      name: 'switchboard_http_requests_total',
      help: 'HTTP requests answered, by status class',
      labelNames: ['status'],
      registers: [this.registry],
    })
  }

  /** A gauge read when metrics are scraped. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read())
      },
    })
  }
}
