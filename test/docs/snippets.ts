import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Snippet {
  readonly language: 'sh' | 'js'
  readonly code: string
  /** Texts the snippet's output must contain, from `<!-- expect: … -->` lines after the block. */
  readonly expect: readonly string[]
  readonly line: number
  /** The `## ` heading the snippet is under. */
  readonly section: string
}

/** The runnable code blocks of a Markdown file (```sh and ```js; ```text is left alone). */
export function snippetsOf(file: string): Snippet[] {
  const lines = readFileSync(file, 'utf8').split('\n')
  const snippets: Snippet[] = []
  let section = ''
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('## ')) section = lines[i].slice(3)
    const fence = /^```(sh|js)\s*$/.exec(lines[i])
    if (!fence) continue
    const start = i
    const code: string[] = []
    for (i += 1; i < lines.length && lines[i] !== '```'; i++) code.push(lines[i])
    const expect: string[] = []
    for (let j = i + 1; j < lines.length; j++) {
      const marker = /^<!-- expect: (.*) -->$/.exec(lines[j])
      if (!marker) break
      expect.push(marker[1])
    }
    snippets.push({
      language: fence[1] as 'sh' | 'js',
      code: code.join('\n'),
      expect,
      line: start + 1,
      section,
    })
  }
  return snippets
}

/** Runs a snippet from the project root against `url` (in place of the default address). */
export function runSnippet(
  snippet: Snippet,
  root: string,
  url: string,
  timeoutMs = 30_000,
): Promise<{ code: number; output: string }> {
  const code = snippet.code
    .replaceAll('http://127.0.0.1:7070', url)
    .replaceAll('ws://127.0.0.1:7070', url.replace(/^http/, 'ws'))
  let command: string[]
  if (snippet.language === 'sh') command = ['bash', '-euo', 'pipefail', '-c', code]
  else {
    // Inside the project, so that `import … from 'switchboard'` resolves to this package.
    const dir = join(root, 'dist', 'snippets')
    mkdirSync(dir, { recursive: true })
    const file = join(dir, `line-${snippet.line}.mjs`)
    writeFileSync(file, code)
    command = [process.execPath, file]
  }
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', SWITCHBOARD_URL: url },
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (exit) => {
      clearTimeout(timer)
      resolve({ code: exit ?? -1, output })
    })
  })
}
