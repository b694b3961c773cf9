/**
 * Fan-out: one publisher, N subscribers of one channel, ~100-byte messages. For each system, in its
 * own server process: (1) a burst of messages, timed until every subscriber has all of them
 * (deliveries/s); (2) a fixed publish rate for a few seconds, measuring publish→receive latency
 * (p50, p99) from a timestamp in each message. Switchboard over WebSocket and over SSE (durable
 * channel, fsync=os, publishes over HTTP) beside a bare `ws` broadcast server (no log: the Node
 * ceiling), Socket.IO rooms, NATS subjects and Redis pub/sub on the local servers.
 */

import {
  BURST,
  bareWs,
  type Figures,
  measure,
  nats,
  RATE,
  redisPubSub,
  SUBSCRIBERS,
  type System,
  socketIo,
  switchboard,
} from './lib/fanout.js'
import { emit } from './lib/report.js'

const ceiling = await measure(await bareWs())
emit({
  bench: 'fanout',
  name: `bare ws broadcast (no log), ${SUBSCRIBERS} subscribers, ${BURST} messages`,
  value: ceiling.deliveriesPerSecond,
  unit: 'deliveries/s',
  better: 'higher',
  details: { p50_ms: ceiling.p50, p99_ms: ceiling.p99, rate_per_s: RATE },
})
const peers: [string, () => Promise<System>][] = [
  ['Socket.IO rooms', socketIo],
  ['NATS subjects', nats],
  ['Redis pub/sub', redisPubSub],
]
const peerFigures = new Map<string, Figures>([['bare ws broadcast (no log)', ceiling]])
for (const [name, open] of peers) {
  try {
    peerFigures.set(name, await measure(await open()))
  } catch (error) {
    process.stderr.write(`bench:fanout: ${name} left out: ${(error as Error).message}\n`)
  }
}
for (const transport of ['ws', 'sse'] as const) {
  const ours = await measure(await switchboard(transport))
  const label = transport === 'ws' ? 'WebSocket' : 'SSE'
  for (const [peer, figures] of peerFigures) {
    emit({
      bench: 'fanout',
      name: `Switchboard ${label} fan-out deliveries/s, ${SUBSCRIBERS} subscribers, ${BURST} messages (durable, HTTP publish)`,
      value: ours.deliveriesPerSecond,
      unit: 'deliveries/s',
      better: 'higher',
      peer,
      peerValue: figures.deliveriesPerSecond,
    })
    emit({
      bench: 'fanout',
      name: `Switchboard ${label} publish→receive latency p99 at ${RATE} msg/s, ${SUBSCRIBERS} subscribers`,
      value: ours.p99,
      unit: 'ms',
      better: 'lower',
      peer,
      peerValue: figures.p99,
      details: { p50_ms: ours.p50, peer_p50_ms: figures.p50 },
    })
  }
}
