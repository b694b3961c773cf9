import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.js'
import { runCli } from '../helpers/process.js'
import { tempDir } from '../helpers/tmp.js'

function problemsOf(webhook: unknown): string[] {
  try {
    loadConfig({ overrides: { namespaces: [{ pattern: 'orders:*', webhook } as never] } })
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return [...(error as ConfigError).problems]
  }
  throw new Error('the configuration was accepted')
}

describe('webhook configuration', () => {
  it('accepts a rule with url and secret, filling timeout and backoff defaults', () => {
    const config = loadConfig({
      overrides: {
        namespaces: [
          { pattern: 'orders:*', webhook: { url: 'https://example.test/h', secret: 'x'.repeat(16) } },
        ],
      },
    })
    expect(config.namespaces[0].webhook).toEqual({
      url: 'https://example.test/h',
      secret: 'x'.repeat(16),
      timeoutMs: 10_000,
      maxBackoffMs: 60_000,
    })
  })

  it('refuses a bad webhook rule with a message naming the setting', () => {
    expect(problemsOf({ url: 'ftp://example.test/h', secret: 'x'.repeat(16) })).toEqual([
      'namespaces.0.webhook.url: must be an http:// or https:// URL, got "ftp://example.test/h"',
    ])
    expect(problemsOf({ url: 'not a url', secret: 'x'.repeat(16) })[0]).toMatch(/must be an http/)
    expect(problemsOf({ url: 'http://example.test/h' })).toEqual([
      'namespaces.0.webhook.secret: is required: the key of the Switchboard-Signature HMAC',
    ])
    expect(problemsOf({ url: 'http://example.test/h', secret: 'short' })).toEqual([
      'namespaces.0.webhook.secret: must be at least 16 characters',
    ])
    expect(problemsOf({ secret: 'x'.repeat(16) })[0]).toMatch(/^namespaces\.0\.webhook\.url: is required/)
    expect(problemsOf({ url: 'http://example.test/h', secret: 'x'.repeat(16), maxBackoffMs: 0 })[0]).toMatch(
      /^namespaces\.0\.webhook\.maxBackoffMs/,
    )
    expect(problemsOf({ url: 'http://example.test/h', secret: 'x'.repeat(16), retries: 3 })[0]).toMatch(
      /Unrecognized key: "retries"/,
    )
  })

  it('makes the CLI exit 2 on a bad webhook in the config file', async () => {
    const dir = tempDir()
    try {
      const { writeFileSync } = await import('node:fs')
      const file = `${dir.path}/config.json`
      writeFileSync(
        file,
        JSON.stringify({ namespaces: [{ pattern: 'a:*', webhook: { url: 'mailto:x@y' } }] }),
      )
      const result = await runCli(['serve', '--config', file, '--data-dir', dir.path])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain('namespaces.0.webhook.url: must be an http:// or https:// URL')
      expect(result.stderr).toContain('namespaces.0.webhook.secret: is required')
    } finally {
      dir.remove()
    }
  })
})
