import type { RouteModule } from '../http/app.js'
import { webhookRoutes } from '../http/routes/webhooks.js'
import { WebhookDispatcher } from './dispatcher.js'

/**
 * Webhooks as one module of the HTTP app: the dispatcher starts once the server listens (a server that
 * failed to start delivers nothing) and stops when it closes, after the HTTP drain and before the
 * engine closes; `GET /v1/webhooks` reports on it.
 */
export const webhooks: RouteModule = (app, ctx) => {
  const dispatcher = new WebhookDispatcher({ broker: ctx.broker, metrics: ctx.metrics, log: app.log })
  app.addHook('onListen', async () => dispatcher.start())
  app.addHook('onClose', async () => dispatcher.stop())
  webhookRoutes((query) => dispatcher.status(query))(app, ctx)
}
