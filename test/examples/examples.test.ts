import { mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postJson } from '../helpers/http.js'
import { tempDir } from '../helpers/tmp.js'
import { runExample } from './run.js'

let browser: Browser
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
})
afterAll(() => browser?.close())

const texts = (page: Page, selector: string) => page.locator(selector).allTextContents()

describe('examples in headless Chromium', () => {
  it('chat: two people exchange messages, see each other online, and a newcomer gets the history', async () => {
    const example = await runExample('chat')
    const context = await browser.newContext()
    try {
      const alice = await context.newPage()
      const bob = await context.newPage()
      await alice.goto(`${example.url}/?name=alice&room=lobby`)
      await bob.goto(`${example.url}/?name=bob&room=lobby`)
      for (const page of [alice, bob])
        await page.waitForFunction(() => document.querySelectorAll('#online li').length === 2, null, {
          timeout: 10_000,
        })
      expect((await texts(alice, '#online li')).sort()).toEqual(['alice', 'bob'])

      await alice.fill('#text', 'hi bob')
      await alice.press('#text', 'Enter')
      await bob.waitForFunction(
        () => document.querySelector('#messages')?.textContent?.includes('hi bob'),
        null,
        { timeout: 10_000 },
      )
      await bob.fill('#text', 'hello alice')
      await bob.click('button[type=submit]')
      await alice.waitForFunction(() => document.querySelectorAll('#messages li').length === 2, null, {
        timeout: 10_000,
      })
      expect(await texts(alice, '#messages li')).toEqual(['alicehi bob', 'bobhello alice'])

      const carol = await context.newPage()
      await carol.goto(`${example.url}/?name=carol&room=lobby`)
      await carol.waitForFunction(() => document.querySelectorAll('#messages li').length === 2, null, {
        timeout: 10_000,
      })
      expect(await texts(carol, '#messages li')).toEqual(['alicehi bob', 'bobhello alice'])
      await alice.waitForFunction(() => document.querySelectorAll('#online li').length === 3, null, {
        timeout: 10_000,
      })

      const dir = tempDir('switchboard-screenshots-')
      mkdirSync(dir.path, { recursive: true })
      const shot = join(dir.path, 'chat.png')
      await alice.screenshot({ path: shot })
      expect(statSync(shot).size).toBeGreaterThan(1000)
      dir.remove()

      await bob.close()
      await alice.waitForFunction(() => document.querySelectorAll('#online li').length === 2, null, {
        timeout: 10_000,
      })
      expect((await texts(alice, '#online li')).sort()).toEqual(['alice', 'carol'])
    } finally {
      await context.close()
      await example.stop()
    }
  })

  it('notifications: "alice just logged in" reaches every open tab of alice and no one else', async () => {
    const example = await runExample('notifications')
    const context = await browser.newContext()
    try {
      const tabs = await Promise.all([0, 1, 2].map(() => context.newPage()))
      const [alice1, alice2, bob] = tabs
      await alice1.goto(`${example.url}/?user=alice`)
      await alice2.goto(`${example.url}/?user=alice`)
      await bob.goto(`${example.url}/?user=bob`)
      for (const tab of tabs) await tab.waitForSelector('body[data-ready=true]', { timeout: 10_000 })

      await postJson(`${example.url}/v1/channels/user:alice/messages`, { event: 'login', from: 'Lisbon' })
      for (const tab of [alice1, alice2])
        await tab.waitForFunction(() => document.querySelectorAll('#feed li').length === 1, null, {
          timeout: 10_000,
        })
      expect(await texts(alice2, '#feed li')).toEqual(['alice just logged in from Lisbon'])

      await bob.click('#login')
      await bob.waitForFunction(() => document.querySelectorAll('#feed li').length === 1, null, {
        timeout: 10_000,
      })
      expect((await texts(bob, '#feed li'))[0]).toMatch(/^bob just logged in/)
      expect(await texts(alice1, '#feed li')).toEqual(['alice just logged in from Lisbon'])
    } finally {
      await context.close()
      await example.stop()
    }
  })

  it('long job: submit, watch the progress bar, survive a refresh by reattaching, get the result', async () => {
    const example = await runExample('long-job', { STEPS: '8', STEP_MS: '250' })
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      await page.goto(`${example.url}/`)
      await page.waitForSelector('body[data-ready=true]')
      await page.click('button[type=submit]')
      await page.waitForFunction(
        () => Number((document.getElementById('bar') as HTMLProgressElement).value) >= 25,
        null,
        {
          timeout: 10_000,
        },
      )
      const id = await page.textContent('#job')
      expect(id).toMatch(/^[0-9a-f-]{36}$/)

      await page.reload()
      await page.waitForFunction((jobId) => document.getElementById('job')?.textContent === jobId, id, {
        timeout: 10_000,
      })
      expect(Number(await page.getAttribute('#bar', 'value'))).toBeGreaterThanOrEqual(25)
      await page.waitForFunction(
        () => document.getElementById('result')?.textContent?.startsWith('Ready'),
        null,
        {
          timeout: 15_000,
        },
      )
      expect(await page.textContent('#result')).toBe('Ready: /videos/holiday.mp4.webm')
      expect(await page.textContent('#percent')).toBe('100%')
    } finally {
      await context.close()
      await example.stop()
    }
  })
})
