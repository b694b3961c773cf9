import { afterEach, describe, expect, it } from 'vitest'
import { type ServerProcess, spawnServer } from '../helpers/process.js'
import { redisAvailable } from '../helpers/redis.js'
import { waitUntil } from '../helpers/wait.js'
import { OwnRedis } from './nodes.js'

const WARNING = /fsync=always asks for every acknowledged write to be on disk/

if (await redisAvailable()) {
  describe('Redis persistence check at start', () => {
    const started: (ServerProcess | OwnRedis)[] = []
    afterEach(async () => {
      for (const thing of started.splice(0))
        if (thing instanceof OwnRedis) await thing.remove()
        else {
          thing.child.kill('SIGKILL')
          await thing.exited
        }
    })

    it('warns when fsync=always meets a Redis that does not fsync every write, and not otherwise', async () => {
      const volatile = await OwnRedis.start({ aof: false })
      const durable = await OwnRedis.start()
      started.push(volatile, durable)
      const onVolatile = await spawnServer(['--engine', volatile.url])
      started.push(onVolatile)
      await waitUntil(() => WARNING.test(onVolatile.stderr()), { what: 'the warning' })
      expect(onVolatile.stderr()).toMatch(/appendonly=no/)

      const relaxed = await spawnServer(['--engine', volatile.url, '--fsync', 'os'])
      const onDurable = await spawnServer(['--engine', durable.url])
      started.push(relaxed, onDurable)
      // Both answered a write, which comes after the check at start.
      for (const node of [relaxed, onDurable]) {
        const answer = await fetch(`${node.url}/v1/channels/c/messages`, { method: 'POST', body: '1' })
        expect(answer.status).toBe(201)
      }
      expect(relaxed.stderr()).not.toMatch(WARNING)
      expect(onDurable.stderr()).not.toMatch(WARNING)
    })
  })
}
