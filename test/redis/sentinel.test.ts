import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppendItem } from '../../src/core/engine.js'
import { Namespaces } from '../../src/core/namespaces.js'
import { RedisEngine } from '../../src/engine/redis/engine.js'
import { redisAvailable } from '../helpers/redis.js'
import { waitUntil } from '../helpers/wait.js'
import { startSentinelGroup } from './nodes.js'

const item = (text: string): AppendItem => ({
  channel: 'watched',
  headers: {},
  contentType: 'text/plain',
  payload: Buffer.from(text),
})

if (await redisAvailable()) {
  describe('Redis Sentinel', () => {
    let group: Awaited<ReturnType<typeof startSentinelGroup>>
    beforeAll(async () => {
      group = await startSentinelGroup()
    })
    afterAll(() => group?.remove())

    it('refuses a write on a replica as the engine being unavailable, and stores nothing', async () => {
      const namespaces = new Namespaces()
      const onReplica = new RedisEngine({
        url: group.replica.url, // before the fail-over below: still the replica
        prefix: `sbtest:${randomUUID()}:`,
        settingsFor: (c) => namespaces.settingsFor(c),
        idempotencyWindowMs: 60_000,
      })
      try {
        await expect(onReplica.append([item('refused')])).rejects.toMatchObject({
          code: 'engine_unavailable',
        })
        expect(await onReplica.info('watched')).toBeUndefined()
      } finally {
        await onReplica.close()
      }
    })

    it('finds the master through the Sentinel, and follows it to the replica on fail-over', async () => {
      const namespaces = new Namespaces()
      const prefix = `sbtest:${randomUUID()}:`
      const engine = new RedisEngine({
        url: group.url,
        prefix,
        settingsFor: (c) => namespaces.settingsFor(c),
        idempotencyWindowMs: 60_000,
      })
      try {
        expect((await engine.append([item('before')])).coordinates[0].offset).toBe(1)
        await group.failover()
        // Writes meanwhile are refused as the engine being unavailable (retry), never as a server fault.
        const refusals = new Set<string>()
        const after = await waitUntil(
          async () => {
            try {
              return await engine.append([item('after')])
            } catch (error) {
              refusals.add((error as { code?: string }).code ?? String(error))
              return undefined
            }
          },
          { timeoutMs: 20_000, everyMs: 100, what: 'a write on the new master' },
        )
        for (const code of refusals) expect(code).toBe('engine_unavailable')
        expect(after.coordinates[0].offset).toBe(2)
        const texts = (await engine.read('watched', 0, 10)).map((m) => Buffer.from(m.payload).toString())
        expect(texts).toEqual(['before', 'after'])
        // Both are on the new master itself, not on the old one before it was demoted.
        const onNewMaster = new RedisEngine({
          url: group.replica.url,
          prefix,
          settingsFor: (c) => namespaces.settingsFor(c),
          idempotencyWindowMs: 60_000,
        })
        try {
          const there = (await onNewMaster.read('watched', 0, 10)).map((m) =>
            Buffer.from(m.payload).toString(),
          )
          expect(there).toEqual(['before', 'after'])
        } finally {
          await onNewMaster.close()
        }
      } finally {
        await engine.close()
      }
    })
  })
}
