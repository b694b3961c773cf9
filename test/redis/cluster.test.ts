import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { engineContract } from '../engine/contract.js'
import { jobsContract } from '../engine/jobs-contract.js'
import { redisEngineFactory } from '../engine/redis-factory.js'
import { call, postJson } from '../helpers/http.js'
import { redisAvailable } from '../helpers/redis.js'
import { tempDir } from '../helpers/tmp.js'
import { waitUntil } from '../helpers/wait.js'
import { WsClient } from '../helpers/ws.js'
import { jobsApi } from '../jobs/api.js'
import { startNodes, startRedisCluster } from './nodes.js'

// The Redis Cluster is the test's own: three masters started from the same redis-server binary.
const available = await redisAvailable()

if (available) {
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>
  beforeAll(async () => {
    cluster = await startRedisCluster(3)
  })
  afterAll(() => cluster?.remove())

  // Each engine under a fresh key prefix; the keys go with the cluster.
  const clusterEngine = redisEngineFactory(() => cluster.url)

  engineContract('redis cluster', clusterEngine, { durable: true, batchAcrossChannels: false })
  jobsContract('redis cluster', clusterEngine)

  describe('nodes on a Redis Cluster', () => {
    it('carry a publish on one node to a long poll on another, a job from submit to result, and presence', async () => {
      const dir = tempDir()
      const config = join(dir.path, 'config.json')
      writeFileSync(config, JSON.stringify({ namespaces: [{ pattern: 'room:*', presence: true }] }))
      const { nodes, stop } = await startNodes(2, cluster.url, ['--config', config])
      let ws: WsClient | undefined
      try {
        const [a, b] = nodes
        const held = call<{ messages: { offset: number; data: unknown }[] }>(
          `${b.url}/v1/channels/room:1/messages?after=0&wait=10`,
        )
        const published = await postJson(`${a.url}/v1/channels/room:1/messages`, { hello: 'cluster' })
        expect(published.status).toBe(201)
        const answer = await held
        expect(answer.body.messages).toEqual([
          expect.objectContaining({ offset: 1, data: { hello: 'cluster' } }),
        ])
        const refused = await postJson(`${a.url}/v1/publish`, {
          messages: [
            { channel: 'room:1', data: 2 },
            { channel: 'room:2', data: 2 },
          ],
        })
        expect(refused.status).toBe(400)
        expect(refused.body).toMatchObject({ code: 'invalid_body' })
        expect((await call(`${a.url}/v1/channels/room:1`)).body).toMatchObject({ last_offset: 1 })

        const [onA, onB] = [jobsApi(a.url), jobsApi(b.url)]
        const submitted = await onA.submit('cq', { data: { n: 21 } })
        expect(submitted.status).toBe(202)
        const claimed = await onB.claim('cq', 5)
        expect(claimed.body).toMatchObject({ id: submitted.body.id, data: { n: 21 } })
        expect((await onB.complete(claimed.body.id, claimed.body.lease as string, 42)).status).toBe(200)
        expect((await onA.get(submitted.body.id, 5)).body).toMatchObject({ state: 'succeeded', result: 42 })

        ws = await WsClient.open(b.url, 'switchboard.v1.json', '?client=carol')
        await ws.request({ op: 'sub', channel: 'room:1' })
        const members = async () =>
          (await call<{ clients: { client: string }[] }>(`${a.url}/v1/channels/room:1/presence`)).body.clients
        await waitUntil(async () => (await members()).map((m) => m.client).join() === 'carol', {
          what: 'carol, subscribed on B, in presence on A',
        })
      } finally {
        ws?.close()
        await stop()
        dir.remove()
      }
    })
  })
}
