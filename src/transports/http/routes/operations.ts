import type { FastifyInstance } from 'fastify'
import { SwitchboardError } from '../../../protocol/errors.js'
import type { HttpContext } from '../context.js'

/** Health, readiness, metrics and live statistics. */
export function operationRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async () => {
    if (ctx.broker.draining) throw new SwitchboardError('shutting_down', 'the server is draining')
    try {
      await ctx.broker.engine.ping()
    } catch (error) {
      throw new SwitchboardError(
        'unavailable',
        `engine ${ctx.broker.engine.kind} is not answering: ${(error as Error).message}`,
      )
    }
    return { status: 'ready', engine: ctx.broker.engine.kind }
  })

  app.get('/metrics', async (_req, reply) => {
    const text = await ctx.metrics.registry.metrics()
    return reply.type(ctx.metrics.registry.contentType).send(text)
  })

  app.get('/v1/stats', async () => ({
    engine: ctx.broker.engine.kind,
    connections: ctx.connections(),
    push: { sse: ctx.push.count('sse'), websocket: ctx.push.count('ws'), tcp: ctx.push.count('tcp') },
    subscriptions: ctx.broker.fanout.subscriptions,
    congested_catch_ups: ctx.broker.subscriptionStats.congestedCatchUps,
    long_polls: ctx.broker.hub.waiting,
    held_claims: ctx.jobs.waitingClaims,
    draining: ctx.broker.draining,
    uptime_seconds: Math.round(process.uptime()),
    rss_bytes: process.memoryUsage.rss(),
  }))
}
