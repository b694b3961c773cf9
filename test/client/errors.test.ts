import { describe, expect, it } from 'vitest'
import {
  errorFor,
  InvalidRequestError,
  isRetryable,
  LeaseExpiredError,
  SwitchboardError,
  UnavailableError,
} from '../../client/errors.js'

describe('SDK error kinds', () => {
  it('make every 503 and 429 retryable, the engine being unavailable among them', () => {
    for (const code of ['engine_unavailable', 'unavailable', 'overloaded', 'shutting_down', 'rate_limited']) {
      const error = errorFor(code, 'later', code === 'rate_limited' ? 429 : 503)
      expect(error).toBeInstanceOf(UnavailableError)
      expect(isRetryable(error)).toBe(true)
    }
  })

  it('tell the kind of an error frame (no HTTP status) by its code', () => {
    expect(errorFor('too_many_subscriptions', 'limit')).toBeInstanceOf(UnavailableError)
    expect(errorFor('slow_consumer', 'behind')).toBeInstanceOf(UnavailableError)
    expect(errorFor('invalid_channel', 'bad name')).toBeInstanceOf(InvalidRequestError)
    expect(errorFor('lease_expired', 'stale')).toBeInstanceOf(LeaseExpiredError)
    expect(errorFor('invalid_channel', 'bad name').status).toBe(0)
  })

  it('leave server faults and unknown codes as plain, not retryable errors', () => {
    for (const error of [errorFor('internal', 'bug', 500), errorFor('something_new', '?')]) {
      expect(error.constructor).toBe(SwitchboardError)
      expect(isRetryable(error)).toBe(false)
    }
  })
})
