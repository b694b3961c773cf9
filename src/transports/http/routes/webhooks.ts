import type { FastifyInstance } from 'fastify'
import type { StatusQuery, WebhookStatus } from '../../webhooks/dispatcher.js'
import type { RouteModule } from '../app.js'
import { intParam, stringParam } from '../query.js'

const DEFAULT_LIMIT = 100
const MAX_LIMIT = 1000

type StatusRequest = { Querystring: Record<string, string> }

/**
 * `GET /v1/webhooks?channel=C&limit=N`: every webhook with its failing state and lag, and its
 * channels (cursor, lag, failures, last error, next retry), failing and most behind first.
 */
export function webhookRoutes(status: (query: StatusQuery) => WebhookStatus[]): RouteModule {
  return (app: FastifyInstance) => {
    app.get<StatusRequest>('/v1/webhooks', async (req) => {
      const limit = Math.min(intParam(req.query, 'limit', DEFAULT_LIMIT, 1), MAX_LIMIT)
      return { webhooks: status({ limit, channel: stringParam(req.query, 'channel') }) }
    })
  }
}
