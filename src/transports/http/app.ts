import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify'
import { RateLimiter } from '../../core/rate-limiter.js'
import { lazyRequestLogger } from '../../observe/request-logger.js'
import { problemOf, SwitchboardError } from '../../protocol/errors.js'
import type { HttpContext } from './context.js'
import { Listener } from './listener.js'
import { sendProblem, toProblem } from './problem.js'
import { channelRoutes } from './routes/channels.js'
import { operationRoutes } from './routes/operations.js'
import { webRoutes } from './routes/web.js'

export interface HttpApp {
  readonly app: FastifyInstance
  readonly listener: Listener
}

export type RouteModule = (app: FastifyInstance, ctx: HttpContext) => void

/**
 * The HTTP surface: Fastify routes on one listener for HTTP/1.1 and h2c, with every failure answered
 * as problem+json. `routes` are mounted beside the built-in channel and operation routes.
 */
export function createHttpApp(
  ctx: HttpContext,
  logger: FastifyServerOptions['logger'],
  routes: RouteModule[] = [],
): HttpApp {
  const { limits } = ctx.config
  let listener!: Listener
  const app = Fastify({
    logger,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: limits.batchBytes,
    routerOptions: { maxParamLength: 1000 },
    return503OnClosing: false,
    trustProxy: ctx.config.trustProxy || false,
    forceCloseConnections: 'idle',
    serverFactory: (handler) => {
      listener = new Listener(handler, {
        maxHeaderBytes: limits.headerBytes,
        headersTimeoutMs: limits.headersTimeoutMs,
        requestTimeoutMs: limits.requestTimeoutMs,
        keepAliveTimeoutMs: limits.keepAliveTimeoutMs,
        idleTimeoutMs: limits.idleTimeoutMs,
        maxConnections: limits.maxConnections,
        maxConnectionsPerClient: limits.maxConnectionsPerClient,
        tls: ctx.config.tls
          ? { cert: readFileSync(ctx.config.tls.cert), key: readFileSync(ctx.config.tls.key) }
          : undefined,
      })
      return listener.main as Server
    },
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (!socket.writable) return void socket.destroy()
      const problem =
        error.code === 'HPE_HEADER_OVERFLOW'
          ? problemOf('headers_too_large', `request headers are over ${limits.headerBytes} bytes`)
          : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? problemOf('request_timeout', 'the request was not received in time')
            : problemOf('invalid_parameter', `malformed HTTP request: ${error.code ?? error.message}`)
      const body = JSON.stringify(problem)
      socket.end(
        `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: application/problem+json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
    },
  })

  // Every body outside the raw publish route is JSON, whatever its declared type.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    if (body === '') return done(null, undefined)
    try {
      done(null, JSON.parse(body as string))
    } catch (error) {
      done(
        new SwitchboardError('invalid_json', `body is not valid JSON: ${(error as Error).message}`),
        undefined,
      )
    }
  })

  app.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error)
    if (problem.status >= 500 && problem.code === 'internal')
      request.log.error({ err: error }, 'request failed')
    return sendProblem(reply, problem)
  })
  const methodsOf = routeMethods(app)
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]
    const allowed = methodsOf(path)
    if (allowed.length === 0)
      return sendProblem(reply, problemOf('not_found', `no route for ${request.method} ${path}`))
    reply.header('allow', allowed.join(', '))
    return sendProblem(
      reply,
      problemOf(
        'method_not_allowed',
        `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}`,
      ),
    )
  })

  const limiter =
    limits.ratePerSecond > 0 ? new RateLimiter(limits.ratePerSecond, limits.rateBurst) : undefined
  app.addHook('onRequest', (request, reply, done) => {
    if (ctx.broker.draining)
      return done(new SwitchboardError('shutting_down', 'the server is shutting down; retry on another node'))
    if (!limiter || limiter.take(request.ip)) return done()
    reply.header('retry-after', String(limiter.retryAfter(request.ip)))
    done(
      new SwitchboardError(
        'rate_limited',
        `more than ${limits.ratePerSecond} requests per second from this address`,
      ),
    )
  })
  app.addHook('onResponse', (_request, reply, done) => {
    ctx.metrics.httpRequests.inc({ status: `${Math.floor(reply.statusCode / 100)}xx` })
    done()
  })

  operationRoutes(app, ctx)
  channelRoutes(app, ctx)
  webRoutes(app, ctx)
  for (const module of routes) module(app, ctx)
  return { app, listener }
}

/**
 * Which methods each route path takes, learnt as routes are added, so that a known path asked with
 * another method answers 405 with `Allow` instead of 404.
 */
function routeMethods(app: FastifyInstance): (path: string) => string[] {
  const routes: { pattern: RegExp; methods: Set<string> }[] = []
  app.addHook('onRoute', (route) => {
    const source = route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]+/g, '[^/]+')
    const pattern = new RegExp(`^${source}$`)
    let entry = routes.find((r) => r.pattern.source === pattern.source)
    if (!entry) {
      entry = { pattern, methods: new Set() }
      routes.push(entry)
    }
    for (const m of Array.isArray(route.method) ? route.method : [route.method])
      if (m !== 'HEAD') entry.methods.add(m)
  })
  return (path) => routes.filter((r) => r.pattern.test(path)).flatMap((r) => [...r.methods])
}
