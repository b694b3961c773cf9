/**
 * Fan-out across nodes on the Redis engine: 1, 2 and 4 Switchboard processes on the local Redis
 * (one machine, so read it as the cost of going through Redis, not a speed-up), WebSocket
 * subscribers spread evenly over the nodes, publishes over HTTP to the first node; beside Redis
 * pub/sub alone with the same subscribers and messages. Deliveries/s for a burst, and latency at a
 * fixed rate (see bench/lib/fanout.ts).
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { tempDir } from '../test/helpers/tmp.js'
import { BURST, measure, type Nodes, RATE, redisPubSub, SUBSCRIBERS, switchboard } from './lib/fanout.js'
import { emit } from './lib/report.js'
import { benchServer } from './lib/server.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** `count` nodes on one Redis under a fresh prefix; `stop` also removes the prefix's keys. */
async function redisNodes(count: number): Promise<Nodes> {
  const prefix = `switchboard-bench-${randomUUID()}:`
  const dir = tempDir('switchboard-bench-')
  const nodes = await Promise.all(
    Array.from({ length: count }, () =>
      benchServer(['--data-dir', dir.path, '--engine', REDIS_URL, '--redis-prefix', prefix, '--fsync', 'os']),
    ),
  )
  return {
    urls: nodes.map((node) => node.url),
    async stop() {
      for (const node of nodes) node.child.kill('SIGTERM')
      await Promise.all(nodes.map((node) => node.exited))
      const redis = new Redis(REDIS_URL)
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys)
      await redis.quit()
      dir.remove()
    },
  }
}

const peer = await measure(await redisPubSub())
for (const count of [1, 2, 4]) {
  const ours = await measure(await switchboard('ws', await redisNodes(count)))
  emit({
    bench: 'redis-fanout',
    name: `fan-out deliveries/s, ${count} node(s) on Redis, ${SUBSCRIBERS} WebSocket subscribers, ${BURST} messages`,
    value: ours.deliveriesPerSecond,
    unit: 'deliveries/s',
    better: 'higher',
    peer: 'Redis pub/sub alone',
    peerValue: peer.deliveriesPerSecond,
  })
  emit({
    bench: 'redis-fanout',
    name: `publish→receive latency p99 at ${RATE} msg/s, ${count} node(s) on Redis, ${SUBSCRIBERS} subscribers`,
    value: ours.p99,
    unit: 'ms',
    better: 'lower',
    peer: 'Redis pub/sub alone',
    peerValue: peer.p99,
    details: { p50_ms: ours.p50, peer_p50_ms: peer.p50 },
  })
}
