import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/process.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.stop())

const cli = (args: string[], input = '') => runCli([...args, '--url', server.url], {}, input)

describe('switchboard pub and sub', () => {
  it('publishes from an argument and from stdin, then sub --after 0 prints both', async () => {
    const first = await cli(['pub', 'cli:news', '{"headline":"hi"}'])
    expect(first).toMatchObject({ code: 0, stdout: '1\n' })
    const second = await cli(['pub', 'cli:news', '--json'], 'plain text\n')
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout)).toMatchObject({ channel: 'cli:news', offset: 2 })

    const lines = await cli(['sub', 'cli:news', '--after', '0', '--count', '2', '--transport', 'longpoll'])
    expect(lines.code).toBe(0)
    expect(lines.stdout).toBe('cli:news 1 {"headline":"hi"}\ncli:news 2 plain text\n')

    const json = await cli([
      'sub',
      'cli:news',
      '--after',
      '1',
      '--count',
      '1',
      '--json',
      '--transport',
      'longpoll',
    ])
    expect(JSON.parse(json.stdout)).toMatchObject({ channel: 'cli:news', offset: 2, data: 'plain text' })
  })

  it('exits non-zero with a one-line message on errors', async () => {
    const invalid = await cli(['pub', 'not a channel', 'x'])
    expect(invalid.code).toBe(2)
    expect(invalid.stderr.trim().split('\n')).toHaveLength(1)
    expect(invalid.stderr).toContain('invalid_channel')
    expect(invalid.stderr).not.toContain('\x1b[')

    const unreachable = await runCli(['pub', 'c', 'x', '--url', 'http://127.0.0.1:9'])
    expect(unreachable.code).toBe(3)
    expect(unreachable.stderr).toMatch(/^switchboard: cannot reach/)

    const missing = await runCli(['pub'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("missing required argument 'channel'")
  })
})
