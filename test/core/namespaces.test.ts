import { describe, expect, it } from 'vitest'
import { DEFAULT_CHANNEL_SETTINGS, Namespaces } from '../../src/core/namespaces.js'

describe('namespaces', () => {
  const namespaces = new Namespaces(
    [
      { pattern: 'chat:*', maxMessages: 100, presence: true },
      { pattern: 'chat:vip:*', maxMessages: 10 },
      { pattern: 'chat:vip:lobby', maxMessages: 1 },
      {
        pattern: 'orders:*',
        webhook: {
          url: 'http://127.0.0.1:1/in',
          secret: 's'.repeat(16),
          timeoutMs: 1000,
          maxBackoffMs: 1000,
        },
      },
      { pattern: 'orders:quiet' },
    ],
    { maxAgeMs: 5000 },
  )

  it('give a channel the most specific rule: an exact name over any prefix, a longer prefix over a shorter', () => {
    expect(namespaces.settingsFor('chat:room').maxMessages).toBe(100)
    expect(namespaces.settingsFor('chat:vip:room').maxMessages).toBe(10)
    expect(namespaces.settingsFor('chat:vip:lobby').maxMessages).toBe(1)
    expect(namespaces.settingsFor('elsewhere').maxMessages).toBe(DEFAULT_CHANNEL_SETTINGS.maxMessages)
  })

  it('take only the most specific rule, over the channel defaults, over the built-in ones', () => {
    // The more specific rule says nothing of presence: it does not inherit `chat:*`'s.
    expect(namespaces.settingsFor('chat:vip:room').presence).toBe(false)
    expect(namespaces.settingsFor('chat:room').presence).toBe(true)
    expect(namespaces.settingsFor('chat:room').maxAgeMs).toBe(5000)
    expect(namespaces.settingsFor('elsewhere').maxAgeMs).toBe(5000)
  })

  it('let a more specific rule without a webhook turn webhooks off', () => {
    expect(namespaces.settingsFor('orders:new').webhook?.url).toBe('http://127.0.0.1:1/in')
    expect(namespaces.settingsFor('orders:quiet').webhook).toBeUndefined()
  })
})
