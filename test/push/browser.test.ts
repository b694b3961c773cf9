import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { selfSignedCert } from '../helpers/tls.js'
import { tempDir } from '../helpers/tmp.js'
import { waitUntil } from '../helpers/wait.js'

const PAGES = join(fileURLToPath(new URL('.', import.meta.url)), 'pages')
const names = (prefix: string) => Array.from({ length: 10 }, (_, i) => `${prefix}${i}`)

let browser: Browser
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
})
afterAll(() => browser?.close())

/** Publishes one message per channel, in process, and waits until the page has them all. */
async function publishAndSee(
  server: TestServer,
  page: Page,
  channels: string[],
): Promise<Record<string, unknown>> {
  await server.broker.publish(
    channels.map((channel) => ({
      channel,
      headers: {},
      contentType: 'application/json',
      payload: Buffer.from(JSON.stringify(`hi ${channel}`)),
    })),
  )
  await page.waitForFunction(
    (n) => Object.keys((window as unknown as { received: object }).received).length >= n,
    channels.length,
    {
      timeout: 10_000,
    },
  )
  return page.evaluate(() => (window as unknown as { received: Record<string, unknown> }).received)
}

describe('headless Chromium', () => {
  it('receives 10 channels over one EventSource and 10 over one WebSocket, over HTTP/1.1', async () => {
    const server = await startTestServer({ webRoot: PAGES })
    const page = await browser.newPage()
    try {
      await page.goto(`${server.url}/index.html?mode=mux`)
      await waitUntil(() => server.broker.fanout.subscriptions === 20, {
        timeoutMs: 10_000,
        what: '20 subscriptions',
      })
      const channels = [...names('es'), ...names('ws')]
      const received = await publishAndSee(server, page, channels)
      expect(Object.keys(received).sort()).toEqual([...channels].sort())
      for (const channel of channels) expect(received[channel]).toBe(`hi ${channel}`)
      expect(
        await page.evaluate(
          () =>
            (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol,
        ),
      ).toBe('http/1.1')
    } finally {
      await page.close()
      await server.stop()
    }
  })

  it('is held to six streams per host with separate EventSources over HTTP/1.1, and not over HTTP/2', async () => {
    const h1 = await startTestServer({ webRoot: PAGES })
    const page = await browser.newPage()
    try {
      await page.goto(`${h1.url}/index.html?mode=separate`)
      await waitUntil(() => h1.broker.fanout.subscriptions === 6, { timeoutMs: 10_000, what: 'six streams' })
      // The browser holds the other four back (this is what the multiplexed stream avoids): a
      // short look confirms no seventh stream arrives.
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(h1.broker.fanout.subscriptions).toBe(6)
    } finally {
      await page.close()
      await h1.stop()
    }

    const dir = tempDir('switchboard-tls-')
    const { cert, key } = selfSignedCert(dir.path)
    const h2 = await startTestServer({ webRoot: PAGES, tls: { cert, key } })
    const context = await browser.newContext({ ignoreHTTPSErrors: true })
    const secure = await context.newPage()
    try {
      expect(h2.url).toMatch(/^https:/)
      await secure.goto(`${h2.url}/index.html?mode=separate`)
      expect(
        await secure.evaluate(
          () =>
            (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol,
        ),
      ).toBe('h2')
      await waitUntil(() => h2.broker.fanout.subscriptions === 10, {
        timeoutMs: 10_000,
        what: 'ten HTTP/2 streams',
      })
      const received = await publishAndSee(h2, secure, names('sep'))
      for (const channel of names('sep')) expect(received[channel]).toBe(`hi ${channel}`)
    } finally {
      await context.close()
      await h2.stop()
      dir.remove()
    }
  })
})
