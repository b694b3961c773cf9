import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { lazyRequestLogger } from '../../src/observe/request-logger.js'

describe('request loggers', () => {
  it('log with the request id once used, and cost no child logger when unused', async () => {
    const lines: Record<string, unknown>[] = []
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()))
        done()
      },
    })
    const app = Fastify({
      logger: { level: 'info', stream },
      disableRequestLogging: true,
      childLoggerFactory: lazyRequestLogger,
    })
    let children = 0
    const child = app.log.child.bind(app.log)
    app.log.child = (...args: Parameters<typeof child>) => {
      children += 1
      return child(...args)
    }
    app.get('/quiet', async () => 'ok')
    app.get('/loud', async (request) => {
      request.log.warn({ detail: 1 }, 'something to say')
      return 'ok'
    })
    await app.inject('/quiet')
    expect(children).toBe(0)
    await app.inject('/loud')
    expect(children).toBe(1)
    expect(lines.find((l) => l.msg === 'something to say')).toMatchObject({
      level: 40,
      detail: 1,
      reqId: expect.any(String),
    })
    await app.close()
  })
})
