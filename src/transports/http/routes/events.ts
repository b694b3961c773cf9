import type { FastifyInstance, FastifyRequest } from 'fastify'
import { assertReadableChannel } from '../../../core/names.js'
import { SwitchboardError } from '../../../protocol/errors.js'
import { clientOf } from '../../session/client-id.js'
import { type SseResponse, SseStream, streamStart } from '../../sse/stream.js'
import type { HttpContext } from '../context.js'
import { intParam } from '../query.js'

type EventsRequest = FastifyRequest<{ Querystring: Record<string, string | string[]> }>

/** `GET /v1/events?channel=a&channel=b`: one multiplexed, resumable SSE stream. */
export function eventRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const { config, broker } = ctx
  app.get('/v1/events', async (req: EventsRequest, reply) => {
    const raw = req.query.channel
    const channels = [...new Set(Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])]
    if (channels.length === 0)
      throw new SwitchboardError('invalid_parameter', 'give at least one channel parameter')
    if (channels.length > config.limits.subscriptionsPerConnection)
      throw new SwitchboardError(
        'too_many_subscriptions',
        `at most ${config.limits.subscriptionsPerConnection} channels per stream`,
      )
    for (const channel of channels) assertReadableChannel(channel)
    const query = req.query as Record<string, string>
    const after = query.after === undefined ? undefined : intParam(query, 'after', 0)
    const header = req.headers['last-event-id']
    const lastEventId = (Array.isArray(header) ? header[0] : header) ?? query.last_event_id
    const start = streamStart(channels, lastEventId, after)
    const client = clientOf(query.client)
    reply.hijack()
    const stream = new SseStream(reply.raw as SseResponse, broker, {
      retryMs: config.push.retryMs,
      keepAliveMs: config.push.keepAliveMs,
      bufferBytes: config.limits.pushBufferBytes,
      slowConsumerMs: config.limits.slowConsumerMs,
      client,
    })
    await stream.open(start, ctx.push)
  })
}

/** `GET /v1/channels/{channel}/presence`: who is subscribed now, on a channel that tracks presence. */
export function presenceRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/v1/channels/:channel/presence', async (req: FastifyRequest<{ Params: { channel: string } }>) => {
    const { channel } = req.params
    return { channel, clients: await ctx.broker.members(channel) }
  })
}
