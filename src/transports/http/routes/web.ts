import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import type { HttpContext } from '../context.js'

/** The browser build of the SDK: dist/web, beside dist/src. */
const SDK_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'web')

/** `GET /sdk/switchboard.js` (the browser SDK, an ES module) and, with `webRoot`, static files at `/`. */
export function webRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const bundle = join(SDK_DIR, 'switchboard.js')
  if (existsSync(bundle)) {
    const code = readFileSync(bundle)
    app.get('/sdk/switchboard.js', (_req, reply) =>
      reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(code),
    )
  }
  if (ctx.config.webRoot) {
    app.register(fastifyStatic, { root: resolve(ctx.config.webRoot), prefix: '/', index: 'index.html' })
  }
}
