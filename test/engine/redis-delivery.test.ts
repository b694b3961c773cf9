import { describe, expect, it } from 'vitest'
import { Message } from '../../src/core/message.js'
import { OrderedDelivery } from '../../src/engine/redis/delivery.js'

const message = (offset: number) =>
  new Message({
    channel: 'c',
    offset,
    id: `m${offset}`,
    time: 0,
    headers: {},
    contentType: 'text/plain',
    payload: new Uint8Array(),
  })

/** A delivery over a fake stream of offsets 1..10, recording reads and what listeners got. */
function setup() {
  const reads: [number, number][] = []
  const got: number[] = []
  const delivery = new OrderedDelivery(
    (_channel, messages) => got.push(...messages.map((m) => m.offset)),
    async (_channel, after, limit) => {
      reads.push([after, limit])
      return Array.from({ length: Math.min(limit, 10 - after) }, (_, i) => message(after + 1 + i))
    },
    (error) => {
      throw error
    },
  )
  return { delivery, reads, got }
}

describe('OrderedDelivery (the Redis engine: appends to this node’s listeners)', () => {
  it('uses messages in hand, reads only what is missing, and delivers each offset once in order', async () => {
    const { delivery, reads, got } = setup()
    delivery.offer('c', 1, 2, [message(1), message(2)])
    delivery.offer('c', 1, 2)
    delivery.offer('c', 5, 6, [message(5), message(6)])
    await delivery.settled()
    expect(got).toEqual([1, 2, 3, 4, 5, 6])
    expect(reads).toEqual([[2, 4]])
  })

  it('reads nothing for a channel nobody here wants, and starts afresh once somebody does', async () => {
    const { delivery, reads, got } = setup()
    let wanted = false
    delivery.wants = () => wanted
    delivery.offer('c', 1, 3)
    await delivery.settled()
    expect([reads, got]).toEqual([[], []])
    wanted = true
    delivery.offer('c', 7, 8, [message(7), message(8)])
    await delivery.settled()
    expect(got).toEqual([7, 8])
    expect(reads).toEqual([])
  })
})
