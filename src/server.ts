import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Config } from './config.js'
import { Broker } from './core/broker.js'
import type { Engine } from './core/engine.js'
import { Jobs } from './core/jobs/service.js'
import { Namespaces } from './core/namespaces.js'
import { createEngine } from './engine/create.js'
import { Metrics } from './observe/metrics.js'
import { createHttpApp } from './transports/http/app.js'
import { eventRoutes, presenceRoutes } from './transports/http/routes/events.js'
import { jobRoutes, rpcRoutes } from './transports/http/routes/jobs.js'
import { PushRegistry } from './transports/push-registry.js'
import { startTcp } from './transports/tcp/server.js'
import { webhooks } from './transports/webhooks/module.js'
import { attachWebSocket } from './transports/ws/websocket.js'

export interface RunningServer {
  readonly config: Config
  readonly engine: Engine
  readonly broker: Broker
  readonly jobs: Jobs
  readonly http: FastifyInstance
  /** `http://host:port` of the HTTP listener. */
  readonly url: string
  readonly port: number
  /** The raw TCP protocol's port, or undefined when it is off. */
  readonly tcpPort: number | undefined
  /** Drains and stops: held polls answered, listeners closed, engine flushed. Idempotent. */
  close(): Promise<void>
}

/** Composition: config → engine → core → transports. */
export async function startServer(config: Config): Promise<RunningServer> {
  const namespaces = new Namespaces(config.namespaces, config.channelDefaults)
  const engine = createEngine(config, namespaces)
  const metrics = new Metrics()
  const broker = new Broker(
    engine,
    namespaces,
    {
      maxPayloadBytes: config.limits.payloadBytes,
      maxBatchMessages: config.limits.batchMessages,
      maxReadLimit: config.limits.readLimit,
      maxWaitMs: config.limits.maxWaitSeconds * 1000,
      maxWaiters: config.limits.maxLongPolls,
    },
    (count) => metrics.published.inc({ engine: engine.kind }, count),
  )
  const jobs = new Jobs(broker, {
    maxDataBytes: config.limits.payloadBytes,
    defaultLeaseMs: config.jobs.defaultLeaseMs,
    maxLeaseMs: config.jobs.maxLeaseMs,
    backoffBaseMs: config.jobs.backoffBaseMs,
    backoffMaxMs: config.jobs.backoffMaxMs,
    maxRpcTimeoutMs: config.jobs.maxRpcTimeoutMs,
  })
  const push = new PushRegistry()
  const { app, listener } = createHttpApp(
    { broker, config, metrics, connections: () => listener.connections, push, jobs },
    { level: config.logLevel },
    [webhooks, eventRoutes, presenceRoutes, jobRoutes, rpcRoutes],
  )
  const detachWebSocket = attachWebSocket(listener.main, broker, config, push)
  metrics.gauge('switchboard_long_poll_waiters', 'Long polls held now', () => broker.hub.waiting)
  metrics.gauge('switchboard_connections', 'Open client connections', () => listener.connections)
  metrics.gauge('switchboard_push_connections', 'Open SSE streams, WebSockets and TCP sessions', () =>
    push.count(),
  )
  metrics.gauge('switchboard_subscriptions', 'Live subscriptions', () => broker.fanout.subscriptions)

  try {
    await app.listen({ host: config.host, port: config.port })
  } catch (error) {
    await engine.close()
    throw error
  }
  const tcp =
    config.tcpPort >= 0
      ? await startTcp(broker, config, push).catch(async (error: Error) => {
          await app.close()
          await engine.close()
          throw error
        })
      : undefined
  await jobs.start()
  const port = (app.server.address() as AddressInfo).port
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  app.log.info({ engine: engine.kind, fsync: config.fsync, port }, 'switchboard listening')

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      listener.drain()
      broker.drain()
      jobs.close()
      // Push clients are told to go: they reconnect elsewhere and resume from their positions.
      push.shutdownAll()
      detachWebSocket()
      await tcp?.close()
      const deadline = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs)
      try {
        await app.close()
      } finally {
        clearTimeout(deadline)
        broker.close()
        await engine.close()
      }
    })()
    return closing
  }
  const scheme = config.tls ? 'https' : 'http'
  return {
    config,
    engine,
    broker,
    jobs,
    http: app,
    url: `${scheme}://${host}:${port}`,
    port,
    tcpPort: tcp?.port,
    close,
  }
}
