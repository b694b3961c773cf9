import type { Config } from '../../config.js'
import type { Broker } from '../../core/broker.js'
import type { Jobs } from '../../core/jobs/service.js'
import type { Metrics } from '../../observe/metrics.js'
import type { PushRegistry } from '../push-registry.js'

/** What every HTTP route is given. */
export interface HttpContext {
  readonly broker: Broker
  readonly config: Config
  readonly metrics: Metrics
  /** Open connections on the listener, for stats. */
  readonly connections: () => number
  /** Open SSE streams, WebSockets and TCP sessions. */
  readonly push: PushRegistry
  readonly jobs: Jobs
}
