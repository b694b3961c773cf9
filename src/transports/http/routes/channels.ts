import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { PublishItem } from '../../../core/broker.js'
import { DEFAULT_READ_LIMIT } from '../../../core/broker.js'
import { isJsonContentType, JSON_CONTENT_TYPE, type ReadBatch } from '../../../core/message.js'
import { assertMessageHeaders } from '../../../core/message-headers.js'
import { base64Payload, compactJson, jsonPayload } from '../../../core/payload.js'
import { SwitchboardError } from '../../../protocol/errors.js'
import { encodeMessageJson } from '../../../protocol/message-json.js'
import { clientGone } from '../client-gone.js'
import type { HttpContext } from '../context.js'
import { intParam, secondsParam } from '../query.js'
import { idempotencyKeyOf, messageHeadersOf } from '../request-headers.js'

type ChannelRequest = FastifyRequest<{ Params: { channel: string }; Querystring: Record<string, string> }>

const MAX_CONTENT_TYPE = 255

/** Routes of API.md's "Channels" table: publish, batch publish, short and long poll, channel info. */
export function channelRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const { broker, config } = ctx

  // Single publish takes any content type as the raw payload, in its own parser context.
  app.register(async (raw) => {
    raw.removeAllContentTypeParsers()
    raw.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: config.limits.payloadBytes },
      (_req, body, done) => done(null, body),
    )
    raw.post('/v1/channels/:channel/messages', async (req: ChannelRequest, reply) => {
      const channel = req.params.channel
      const declared = req.headers['content-type'] ?? 'application/octet-stream'
      if (declared.length > MAX_CONTENT_TYPE)
        throw new SwitchboardError('invalid_parameter', 'Content-Type is too long')
      const body = (req.body as Buffer | undefined) ?? Buffer.alloc(0)
      const json = isJsonContentType(declared)
      const item: PublishItem = {
        channel,
        headers: messageHeadersOf(req.headers),
        contentType: json ? JSON_CONTENT_TYPE : declared,
        payload: json ? compactJson(body) : body,
      }
      const key = idempotencyKeyOf(req.headers)
      const result = await broker.publish([item], key ? { scope: `publish:${channel}`, key } : undefined)
      const [at] = result.coordinates
      if (result.replayed) reply.header('idempotent-replayed', 'true')
      return reply.code(201).send({ channel: at.channel, offset: at.offset, id: at.id, time: at.time })
    })
  })

  app.post('/v1/publish', { bodyLimit: config.limits.batchBytes }, async (req, reply) => {
    const items = batchItems(req.body)
    const key = idempotencyKeyOf(req.headers)
    const result = await broker.publish(items, key ? { scope: 'publish', key } : undefined)
    if (result.replayed) reply.header('idempotent-replayed', 'true')
    const results = result.coordinates.map(({ channel, offset, id, time }) => ({ channel, offset, id, time }))
    return reply.code(201).send({ results })
  })

  app.get('/v1/channels/:channel/messages', async (req: ChannelRequest, reply) => {
    const channel = req.params.channel
    const after = intParam(req.query, 'after', 0)
    const limit = broker.clampLimit(intParam(req.query, 'limit', DEFAULT_READ_LIMIT, 1))
    const waitMs = secondsParam(req.query, 'wait', 0)
    const batch =
      waitMs > 0
        ? await holdPoll(ctx, reply, channel, after, limit, waitMs)
        : await broker.read(channel, after, limit)
    return reply.type('application/json').send(batchBody(batch))
  })

  app.get('/v1/channels/:channel', async (req: ChannelRequest) => {
    const info = await broker.info(req.params.channel)
    if (!info)
      throw new SwitchboardError(
        'not_found',
        `channel ${req.params.channel} has no messages and never had any`,
      )
    return {
      channel: info.channel,
      first_offset: info.firstOffset,
      last_offset: info.lastOffset,
      messages: info.messages,
      bytes: info.bytes,
    }
  })
}

/** Holds a long poll until messages arrive, the wait ends, or the client goes away (then at once). */
async function holdPoll(
  ctx: HttpContext,
  reply: FastifyReply,
  channel: string,
  after: number,
  limit: number,
  waitMs: number,
): Promise<ReadBatch> {
  const { signal, release } = clientGone(reply)
  try {
    return await ctx.broker.poll(channel, after, limit, waitMs, signal)
  } finally {
    release()
  }
}

const bodies = new WeakMap<ReadBatch, string>()

/** The poll answer, encoded once per batch: waiters released together share it. */
export function batchBody(batch: ReadBatch): string {
  let body = bodies.get(batch)
  if (body === undefined) {
    const messages = batch.messages.map((m) => m.encoded('json', encodeMessageJson))
    body = `{"messages":[${messages.join(',')}],"next":${batch.next}}`
    bodies.set(batch, body)
  }
  return body
}

function batchItems(body: unknown): PublishItem[] {
  const messages = (body as { messages?: unknown } | null)?.messages
  if (!Array.isArray(messages)) throw new SwitchboardError('invalid_body', 'body must be {"messages":[…]}')
  return messages.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) {
      throw new SwitchboardError('invalid_body', `messages[${i}] must be an object`)
    }
    const m = entry as Record<string, unknown>
    if (typeof m.channel !== 'string')
      throw new SwitchboardError('invalid_channel', `messages[${i}].channel must be a string`)
    const headers = assertMessageHeaders(m.headers)
    if (m.data_base64 !== undefined) {
      const contentType = m.content_type ?? 'application/octet-stream'
      if (typeof contentType !== 'string' || contentType.length > MAX_CONTENT_TYPE) {
        throw new SwitchboardError('invalid_body', `messages[${i}].content_type must be a short string`)
      }
      const bytes = base64Payload(m.data_base64)
      const json = isJsonContentType(contentType)
      return {
        channel: m.channel,
        headers,
        contentType: json ? JSON_CONTENT_TYPE : contentType,
        payload: json ? compactJson(bytes) : bytes,
      }
    }
    if (!('data' in m)) throw new SwitchboardError('invalid_body', `messages[${i}] needs data or data_base64`)
    return { channel: m.channel, headers, contentType: JSON_CONTENT_TYPE, payload: jsonPayload(m.data) }
  })
}
