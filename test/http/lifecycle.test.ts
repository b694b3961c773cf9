import http2 from 'node:http2'
import { describe, expect, it } from 'vitest'
import { call } from '../helpers/http.js'
import { runCli, spawnServer } from '../helpers/process.js'
import { tempDir } from '../helpers/tmp.js'
import { waitUntil, within } from '../helpers/wait.js'

describe('lifecycle', () => {
  it('drains on SIGTERM: held polls answered empty, data flushed, exit 0', async () => {
    const dir = tempDir()
    try {
      const proc = await spawnServer(['--data-dir', dir.path])
      await call(`${proc.url}/v1/channels/life/messages`, { method: 'POST', body: 'before' })
      const held = call<{ messages: unknown[]; next: number }>(
        `${proc.url}/v1/channels/life/messages?after=1&wait=30`,
      )
      await waitUntil(
        async () => (await call<{ long_polls: number }>(`${proc.url}/v1/stats`)).body.long_polls === 1,
      )
      const started = Date.now()
      proc.child.kill('SIGTERM')
      const answer = await within(held, 5000, 'the held poll')
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ messages: [], next: 1 })
      expect(await within(proc.exited, 10_000, 'exit')).toBe(0)
      expect(Date.now() - started).toBeLessThan(10_000)

      const again = await spawnServer(['--data-dir', dir.path])
      const page = await call<{ messages: unknown[] }>(`${again.url}/v1/channels/life/messages?after=0`)
      expect(page.body.messages).toHaveLength(1)
      again.child.kill('SIGTERM')
      expect(await again.exited).toBe(0)
    } finally {
      dir.remove()
    }
  })

  it('refuses a second server on a data directory in use, and takes over the lock of a killed one', async () => {
    const dir = tempDir()
    try {
      const first = await spawnServer(['--data-dir', dir.path])
      const second = await runCli(['serve', '--data-dir', dir.path, '--port', '0', '--tcp-port', '-1'])
      expect(second.code).not.toBe(0)
      expect(second.stderr).toContain(`data directory is in use by process ${first.child.pid}`)
      expect((await call(`${first.url}/healthz`)).status).toBe(200)
      first.child.kill('SIGKILL')
      await first.exited
      const third = await spawnServer(['--data-dir', dir.path])
      expect((await call(`${third.url}/readyz`)).status).toBe(200)
      third.child.kill('SIGTERM')
      expect(await third.exited).toBe(0)
    } finally {
      dir.remove()
    }
  })

  it('refuses invalid configuration with a clear message and exit code 2', async () => {
    const flag = await runCli(['serve', '--port', 'eighty'])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain('--port: expected an integer, got "eighty"')
    const env = await runCli(['serve'], { SWITCHBOARD_FSYNC: 'sometimes' })
    expect(env.code).toBe(2)
    expect(env.stderr).toMatch(/fsync \(--fsync, SWITCHBOARD_FSYNC\)/)
    const file = await runCli(['serve', '--config', '/nonexistent/switchboard.json'])
    expect(file.code).toBe(2)
    expect(file.stderr).toContain('/nonexistent/switchboard.json')
    const wait = await runCli(['serve', '--max-wait-seconds', '300'])
    expect(wait.code).toBe(2)
    expect(wait.stderr).toContain('limits.idleTimeoutMs')
  })

  it('reads settings from environment and a config file, flags winning', async () => {
    const dir = tempDir()
    try {
      const { writeFileSync } = await import('node:fs')
      const file = `${dir.path}/config.json`
      writeFileSync(
        file,
        JSON.stringify({ limits: { payloadBytes: 10 }, namespaces: [{ pattern: 'tiny:*', maxMessages: 1 }] }),
      )
      const proc = await spawnServer(['--data-dir', dir.path, '--config', file], {
        SWITCHBOARD_MAX_PAYLOAD_BYTES: '20',
      })
      const fits = await call(`${proc.url}/v1/channels/tiny:a/messages`, {
        method: 'POST',
        body: 'x'.repeat(15),
      })
      expect(fits.status).toBe(201)
      const over = await call(`${proc.url}/v1/channels/tiny:a/messages`, {
        method: 'POST',
        body: 'x'.repeat(25),
      })
      expect(over.status).toBe(413)
      await call(`${proc.url}/v1/channels/tiny:a/messages`, { method: 'POST', body: 'y' })
      expect((await call(`${proc.url}/v1/channels/tiny:a`)).body).toMatchObject({
        first_offset: 2,
        messages: 1,
      })
      proc.child.kill('SIGTERM')
      await proc.exited
    } finally {
      dir.remove()
    }
  })
})

describe('draining', () => {
  it('answers new requests 503 shutting_down and readiness 503 once draining starts', async () => {
    const { startTestServer } = await import('../helpers/server.js')
    const server = await startTestServer({ engine: 'memory' })
    try {
      expect((await call(`${server.url}/readyz`)).status).toBe(200)
      server.broker.drain()
      const publish = await call(`${server.url}/v1/channels/late/messages`, { method: 'POST', body: 'x' })
      expect(publish.status).toBe(503)
      expect(publish.body).toMatchObject({ code: 'shutting_down' })
      expect((await call(`${server.url}/readyz`)).body).toMatchObject({ status: 503, code: 'shutting_down' })
    } finally {
      await server.stop()
    }
  })

  it('sends an HTTP/2 client GOAWAY when the server drains, after answering what it had asked', async () => {
    const { startTestServer } = await import('../helpers/server.js')
    const server = await startTestServer({ engine: 'memory' })
    const session = http2.connect(server.url)
    try {
      const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)))
      const held = new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': '/v1/channels/h2/messages?after=0&wait=10' })
        let body = ''
        stream.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk
        })
        stream.on('end', () => resolve(body)).on('error', reject)
      })
      await waitUntil(
        async () => (await call<{ long_polls: number }>(`${server.url}/v1/stats`)).body.long_polls === 1,
        { what: 'the HTTP/2 long poll to be held' },
      )
      const stopping = server.stop()
      expect(await within(goaway, 5000, 'GOAWAY')).toBe(http2.constants.NGHTTP2_NO_ERROR)
      expect(JSON.parse(await within(held, 5000, 'the held poll'))).toEqual({ messages: [], next: 0 })
      await stopping
    } finally {
      session.destroy()
      await server.stop()
    }
  })
})
