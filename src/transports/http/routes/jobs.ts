import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Finished } from '../../../core/engine.js'
import { type JobRecord, jobChannel, jobView } from '../../../core/jobs/job.js'
import type { Message } from '../../../core/message.js'
import { SwitchboardError } from '../../../protocol/errors.js'
import { type SseResponse, SseStream, streamStart } from '../../sse/stream.js'
import { clientGone } from '../client-gone.js'
import type { HttpContext } from '../context.js'
import { boolParam, intParam, secondsParam } from '../query.js'
import { idempotencyKeyOf } from '../request-headers.js'

type Query = Record<string, string>
type JobRequest = FastifyRequest<{ Params: { id: string }; Querystring: Query }>
type QueueRequest = FastifyRequest<{ Params: { queue: string }; Querystring: Query }>

const LEASE_HEADER = 'switchboard-lease'

/** API.md's "Jobs" routes: submit, watch (short poll, long poll, SSE), cancel, and the worker calls. */
export function jobRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const { jobs, config } = ctx
  const maxWaitMs = config.limits.maxWaitSeconds * 1000

  app.post('/v1/queues/:queue/jobs', async (req: QueueRequest, reply) => {
    const { queue } = req.params
    const key = idempotencyKeyOf(req.headers)
    const { job, replayed } = await jobs.submit(
      queue,
      req.body,
      key ? { scope: `submit:${queue}`, key } : undefined,
    )
    if (replayed) reply.header('idempotent-replayed', 'true')
    reply.header('location', `/v1/jobs/${job.id}`)
    const preferred = preferWait(req.headers.prefer)
    if (preferred === undefined) return reply.code(202).send(jobView(job))
    reply.header('preference-applied', `wait=${preferred / 1000}`)
    const end = await held(reply, (signal) => jobs.waitFinal(job.id, Math.min(preferred, maxWaitMs), signal))
    return reply.code(end.state === job.state || !isDone(end) ? 202 : 200).send(jobView(end))
  })

  app.get('/v1/jobs/:id', async (req: JobRequest, reply) => {
    const waitMs = secondsParam(req.query, 'wait', 0)
    const job =
      waitMs > 0
        ? await held(reply, (signal) => jobs.waitFinal(req.params.id, Math.min(waitMs, maxWaitMs), signal))
        : await jobs.get(req.params.id)
    return jobView(job)
  })

  app.delete('/v1/jobs/:id', async (req: JobRequest) => jobView(await jobs.cancel(req.params.id)))

  app.get('/v1/jobs/:id/events', async (req: JobRequest, reply) => {
    const { id } = req.params
    await jobs.get(id)
    const header = req.headers['last-event-id']
    const lastEventId = (Array.isArray(header) ? header[0] : header) ?? req.query.last_event_id
    const channel = jobChannel(id)
    // Without a position, a job's stream starts from its first event.
    const start = streamStart([channel], lastEventId, intParam(req.query, 'after', 0))
    reply.hijack()
    await new SseStream(reply.raw as SseResponse, ctx.broker, {
      retryMs: config.push.retryMs,
      keepAliveMs: config.push.keepAliveMs,
      bufferBytes: config.limits.pushBufferBytes,
      slowConsumerMs: config.limits.slowConsumerMs,
      eventOf: (m: Message) => m.headers.event ?? 'state',
      dataOf: (m: Message) => m.encoded('payload-text', (x) => Buffer.from(x.payload).toString('utf8')),
    }).open(start, ctx.push)
  })

  app.get('/v1/queues/:queue', async (req: QueueRequest) => ({
    queue: req.params.queue,
    counts: await jobs.counts(req.params.queue),
  }))

  app.get('/v1/queues/:queue/failed', async (req: QueueRequest) => {
    const limit = Math.min(1000, intParam(req.query, 'limit', 100, 1))
    const failed = await jobs.list(req.params.queue, 'failed', limit)
    return { queue: req.params.queue, jobs: failed.map((job) => jobView(job)) }
  })

  // Workers.
  app.post('/v1/queues/:queue/claim', async (req: QueueRequest, reply) => {
    const waitMs = Math.min(secondsParam(req.query, 'wait', 0), maxWaitMs)
    const leaseMs = leaseParam(req.query)
    const job = await held(reply, (signal) => jobs.claim(req.params.queue, leaseMs, waitMs, signal))
    if (!job) return reply.code(204).send()
    // The client left while the claim was answered: the lease will run out and the job come back.
    return claimedView(job)
  })

  app.post('/v1/jobs/:id/heartbeat', async (req: JobRequest) => {
    const body = objectBody(req.body)
    const leaseMs = body.lease_ms === undefined ? undefined : Number(body.lease_ms)
    return jobs.heartbeat(req.params.id, leaseOf(req), leaseMs)
  })

  app.post('/v1/jobs/:id/progress', async (req: JobRequest, reply) => {
    await jobs.progress(req.params.id, leaseOf(req), objectBody(req.body).progress ?? null)
    return reply.code(204).send()
  })

  app.post('/v1/jobs/:id/complete', async (req: JobRequest) => {
    const { id } = req.params
    const result = objectBody(req.body).result ?? null
    if (!nextAsked(req)) return jobView(await jobs.complete(id, leaseOf(req), result))
    return withNext(await jobs.completeThenClaim(id, leaseOf(req), result, leaseParam(req.query)))
  })

  app.post('/v1/jobs/:id/fail', async (req: JobRequest) => {
    const { id } = req.params
    const body = objectBody(req.body)
    if (body.retry !== undefined && typeof body.retry !== 'boolean')
      throw new SwitchboardError('invalid_body', 'retry must be true or false')
    const [error, retry] = [body.error ?? null, body.retry !== false]
    if (!nextAsked(req)) return jobView(await jobs.fail(id, leaseOf(req), error, retry))
    return withNext(await jobs.failThenClaim(id, leaseOf(req), error, retry, leaseParam(req.query)))
  })
}

/**
 * `?next=true` on complete and fail: the answer also carries the queue's front job, claimed under a
 * new lease (`lease_ms` as for a claim) in the same write, or null when none is queued. A busy
 * worker then needs one request per job instead of two.
 */
function nextAsked(req: JobRequest): boolean {
  return boolParam(req.query, 'next', false)
}

function withNext({ job, next }: Finished) {
  return { ...jobView(job), next: next ? claimedView(next) : null }
}

function leaseParam(query: Query): number | undefined {
  return query.lease_ms === undefined ? undefined : intParam(query, 'lease_ms', 0)
}

/** A claimed job as its worker gets it: the job, its lease token and when the lease ends. */
function claimedView(job: JobRecord) {
  return { ...jobView(job), lease: job.lease, lease_expires_at: job.leaseExpiresAt }
}

/** `POST /v1/rpc/{queue}?timeout_ms=T`: the body is the request; the answer is the worker's result. */
export function rpcRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.post('/v1/rpc/:queue', async (req: QueueRequest, reply) => {
    const timeoutMs = intParam(req.query, 'timeout_ms', 30_000, 1)
    const result = await held(reply, (signal) =>
      ctx.jobs.call(req.params.queue, req.body ?? null, timeoutMs, signal),
    )
    return reply.type('application/json').send(JSON.stringify(result ?? null))
  })
}

function isDone(job: JobRecord): boolean {
  return job.state === 'succeeded' || job.state === 'failed' || job.state === 'cancelled'
}

/** Runs a wait that ends early when the client goes away. */
async function held<T>(reply: FastifyReply, wait: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const { signal, release } = clientGone(reply)
  try {
    return await wait(signal)
  } finally {
    release()
  }
}

/** `Prefer: wait=S` (RFC 7240), as milliseconds; other preferences are ignored. */
export function preferWait(header: string | string[] | undefined): number | undefined {
  const text = Array.isArray(header) ? header.join(',') : header
  const match = text ? /(?:^|[,;\s])wait\s*=\s*"?(\d+(?:\.\d+)?)"?/i.exec(text) : null
  return match ? Math.round(Number(match[1]) * 1000) : undefined
}

function leaseOf(req: FastifyRequest): string {
  const lease = req.headers[LEASE_HEADER]
  if (typeof lease !== 'string' || lease === '')
    throw new SwitchboardError(
      'invalid_parameter',
      'worker calls carry their lease in the Switchboard-Lease header',
    )
  return lease
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {}
  if (typeof body !== 'object' || Array.isArray(body))
    throw new SwitchboardError('invalid_body', 'the body must be a JSON object')
  return body as Record<string, unknown>
}
