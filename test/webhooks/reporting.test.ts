import { afterEach, describe, expect, it } from 'vitest'
import { Broker } from '../../src/core/broker.js'
import { Namespaces } from '../../src/core/namespaces.js'
import { MemoryEngine } from '../../src/engine/memory.js'
import { Metrics } from '../../src/observe/metrics.js'
import { WebhookDispatcher } from '../../src/transports/webhooks/dispatcher.js'
import { waitUntil } from '../helpers/wait.js'
import { Receiver, range } from './receiver.js'

const SECRET = 'reporting-secret-0123'

function brokerFor(url: string): Broker {
  const namespaces = new Namespaces([
    { pattern: 'r:*', webhook: { url, secret: SECRET, timeoutMs: 1000, maxBackoffMs: 40 } },
  ])
  const engine = new MemoryEngine({
    settingsFor: (c) => namespaces.settingsFor(c),
    idempotencyWindowMs: 1000,
  })
  return new Broker(engine, namespaces, {
    maxPayloadBytes: 1024,
    maxBatchMessages: 100,
    maxReadLimit: 100,
    maxWaitMs: 1000,
    maxWaiters: 10,
  })
}

function item(channel: string) {
  return { channel, headers: {}, contentType: 'text/plain', payload: Buffer.from('x') }
}

const quiet = { warn: () => undefined, error: () => undefined }

describe('webhook reporting', () => {
  const receiver = new Receiver()
  let dispatcher: WebhookDispatcher | undefined
  afterEach(async () => {
    await dispatcher?.stop()
    await receiver.stop()
    receiver.requests.length = 0
  })

  it('warns once when an endpoint starts failing and once when it recovers', async () => {
    await receiver.start(0)
    await receiver.stop()
    const broker = brokerFor(receiver.url)
    const logs: { level: string; message: string; fields: Record<string, unknown> }[] = []
    const log = {
      warn: (fields: object, message: string) => logs.push({ level: 'warn', message, fields: { ...fields } }),
      error: (fields: object, message: string) =>
        logs.push({ level: 'error', message, fields: { ...fields } }),
    }
    dispatcher = new WebhookDispatcher({ broker, metrics: new Metrics(), log })
    await dispatcher.start()
    await broker.publish([item('r:1'), item('r:2'), item('r:1'), item('elsewhere')])
    await waitUntil(
      () => dispatcher!.status({ limit: 10 })[0].channels.every((c) => c.consecutive_failures >= 3),
      {
        what: 'repeated failures',
      },
    )
    expect(logs).toHaveLength(1)
    expect(logs[0]).toMatchObject({
      level: 'warn',
      message: 'webhook endpoint is failing; retrying with backoff',
      fields: { webhook: 'r:*', url: receiver.url },
    })
    expect(String(logs[0].fields.error)).toMatch(/ECONNREFUSED/)
    await receiver.start()
    await waitUntil(() => receiver.delivered('r:1').length === 2 && receiver.delivered('r:2').length === 1, {
      what: 'deliveries',
    })
    await waitUntil(() => logs.length === 2, { what: 'the recovery log' })
    expect(logs[1]).toMatchObject({ level: 'warn', message: 'webhook endpoint recovered' })
    expect(logs[1].fields.downMs).toBeGreaterThan(0)
    expect(receiver.delivered('r:1')).toEqual(range(1, 2))
    // The receiver answered; the dispatcher records it as the answer arrives.
    await waitUntil(() => dispatcher!.status({ limit: 10 })[0].lag === 0, { what: 'the cursor to catch up' })
    expect(dispatcher.status({ limit: 10 })[0]).toMatchObject({ failing: false, failing_since: null, lag: 0 })
  })
  it('forgets idle channels past maxLanes; they resume from their stored cursor', async () => {
    await receiver.start(0)
    const broker = brokerFor(receiver.url)
    dispatcher = new WebhookDispatcher({ broker, metrics: new Metrics(), log: quiet, maxLanes: 2 })
    await dispatcher.start()
    for (const channel of ['r:1', 'r:2', 'r:3']) {
      await broker.publish([item(channel)])
      await waitUntil(() => receiver.delivered(channel).length === 1, { what: `${channel} delivered` })
    }
    expect(dispatcher.status({ limit: 10 })[0].channels_total).toBeLessThanOrEqual(2)
    await broker.publish([item('r:1'), item('r:1')])
    await waitUntil(() => receiver.delivered('r:1').length === 3, { what: 'r:1 again' })
    expect(receiver.delivered('r:1')).toEqual([1, 2, 3])
  })
})
