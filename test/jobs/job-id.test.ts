import { describe, expect, it } from 'vitest'
import { newJobId } from '../../src/core/jobs/job-id.js'

describe('job ids', () => {
  it('are UUIDv7 strings that carry their time in their first 48 bits', () => {
    const at = Date.UTC(2026, 10, 30, 12, 0, 0, 123)
    const id = newJobId(at)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at)
  })

  it('sort by the time they were made, and differ when made in the same millisecond', () => {
    const at = Date.now()
    const ids = [at - 1000, at - 1, at, at, at + 1].map((t) => newJobId(t))
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids[0] < ids[1] && ids[1] < ids[2] && ids[2] < ids[4] && ids[3] < ids[4]).toBe(true)
  })
})
