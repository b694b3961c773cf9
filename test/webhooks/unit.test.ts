import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { backoffMs } from '../../src/transports/webhooks/backoff.js'
import { signatureHeader } from '../../src/transports/webhooks/signature.js'
import { Slots } from '../../src/transports/webhooks/slots.js'

describe('webhook pieces', () => {
  it('signs "<t>.<body>" with HMAC-SHA256 in hex', () => {
    const body = '{"channel":"a","offset":1}'
    const expected = createHmac('sha256', 'k'.repeat(16)).update(`1700000000000.${body}`).digest('hex')
    expect(signatureHeader('k'.repeat(16), 1_700_000_000_000, body)).toBe(`t=1700000000000,v1=${expected}`)
    expect(signatureHeader('k'.repeat(16), 1_700_000_000_001, body)).not.toContain(expected)
  })

  it('backs off exponentially with jitter, capped', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 60_000, () => 1))).toEqual([100, 200, 400, 800])
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 60_000, () => 0))).toEqual([50, 100, 200, 400])
    expect(backoffMs(40, 5000, () => 1)).toBe(5000)
    expect(backoffMs(1000, 5000, () => 0)).toBe(2500)
  })

  it('lets at most N hold a slot', async () => {
    const slots = new Slots(2)
    const a = await slots.acquire()
    await slots.acquire()
    let third = false
    const pending = slots.acquire().then(() => {
      third = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(third).toBe(false)
    a()
    a()
    await pending
    expect(third).toBe(true)
  })
})
