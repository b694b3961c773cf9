import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { runSnippet, snippetsOf } from './snippets.js'

// From test/docs or dist/test/docs, the project root is the nearest folder holding docs/.
const here = dirname(fileURLToPath(import.meta.url))
const root = here.includes(`${join('dist', 'test')}`) ? join(here, '..', '..', '..') : join(here, '..', '..')
const guide = join(root, 'docs', 'getting-started.md')
const snippets = snippetsOf(guide)

const PATTERNS = [
  'Request/response',
  'Short polling',
  'Long polling',
  'Server-sent events',
  'WebSocket',
  'Publish/subscribe with the SDK',
  'Jobs',
  'RPC',
]

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.stop())

describe('docs/getting-started.md', () => {
  it('has a snippet for every pattern', () => {
    const sections = new Set(snippets.map((s) => s.section.split(':')[0]))
    for (const pattern of PATTERNS) expect(sections, pattern).toContain(pattern)
  })

  // In order: later snippets may read what earlier ones published.
  it.each(snippets.map((s) => [`${s.language} snippet at line ${s.line}`, s] as const))(
    'runs the %s',
    async (_, snippet) => {
      const { code, output } = await runSnippet(snippet, root, server.url)
      expect(output, output).toBeDefined()
      expect(code, output).toBe(0)
      for (const text of snippet.expect) expect(output).toContain(text)
    },
  )
})
