import { type ChildProcess, spawn } from 'node:child_process'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CLI, runCli } from '../helpers/process.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

let server: TestServer
const workers: ChildProcess[] = []
beforeAll(async () => {
  server = await startTestServer()
})
afterEach(async () => {
  for (const worker of workers.splice(0)) {
    const exited = new Promise((resolve) => worker.once('exit', resolve))
    worker.kill('SIGTERM')
    await exited
  }
})
afterAll(() => server.stop())

/** `switchboard worker <queue> -- <command>` as its own process. */
function worker(queue: string, command: string[]): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'worker', queue, '--url', server.url, '--', ...command], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  workers.push(child)
  return child
}

describe('switchboard job and worker', () => {
  it('job submit --wait prints what a worker running `tr a-z A-Z` made of the data', async () => {
    worker('upper', ['tr', 'a-z', 'A-Z'])
    const submitted = await runCli([
      'job',
      'submit',
      'upper',
      '"hello, switchboard"',
      '--wait',
      '--url',
      server.url,
    ])
    expect(submitted).toMatchObject({ code: 0, stdout: 'HELLO, SWITCHBOARD\n' })
    // Without a terminal: no progress bar, no colour.
    expect(submitted.stderr).toBe('')

    const id = (await runCli(['job', 'submit', 'upper', 'quiet', '--url', server.url])).stdout.trim()
    const status = await runCli(['job', 'status', id, '--url', server.url])
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ id, queue: 'upper' })
  })

  it('draws a progress bar only on a terminal', async () => {
    worker('steps', ['sh', '-c', `'echo "::progress 50" >&2; sleep 0.5; cat'`])
    const command = [
      process.execPath,
      CLI,
      'job',
      'submit',
      'steps',
      '"x"',
      '--wait',
      '--url',
      server.url,
    ].join(' ')
    // Under `script`, the CLI has a pseudo-terminal; spawned without blocking, as the server runs here.
    const tty = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
      const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk
      })
      child.on('close', (status) => resolve({ status, stdout }))
    })
    expect(tty.status).toBe(0)
    expect(tty.stdout).toContain('50%')
    expect(tty.stdout).toContain('█')
    expect(tty.stdout).toContain('x')
  })

  it('exits 1 with one line when the job fails, 4 for an unknown job', async () => {
    worker('broken', ['sh', '-c', `'echo "bad input" >&2; exit 3'`])
    const failed = await runCli([
      'job',
      'submit',
      'broken',
      '1',
      '--wait',
      '--max-attempts',
      '1',
      '--url',
      server.url,
    ])
    expect(failed.code).toBe(1)
    expect(failed.stderr.trim().split('\n')).toHaveLength(1)
    expect(failed.stderr).toContain('exit 3: bad input')
    const unknown = await runCli(['job', 'status', 'no-such-job', '--url', server.url])
    expect(unknown.code).toBe(4)
  })

  it('rpc prints the worker answer, exits 5 when none comes in time; job watch and job cancel follow a job', async () => {
    worker('echo', ['cat'])
    // $SWITCHBOARD_URL stands for --url.
    const env = { SWITCHBOARD_URL: server.url }
    expect(await runCli(['rpc', 'echo', '{"ping":1}'], env)).toMatchObject({
      code: 0,
      stdout: '{"ping":1}\n',
    })
    const late = await runCli(['rpc', 'nobody-listens', '1', '--timeout-ms', '200'], env)
    expect(late.code).toBe(5)
    expect(late.stderr).toContain('(timeout)')

    const id = (await runCli(['job', 'submit', 'unworked', '"x"'], env)).stdout.trim()
    const watching = runCli(['job', 'watch', id], env)
    const cancelled = await runCli(['job', 'cancel', id], env)
    expect(cancelled.code).toBe(0)
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ id, state: 'cancelled' })
    const watched = await watching
    expect(watched.code).toBe(0)
    const events = watched.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; data: { state: string } })
    expect(events.map((e) => `${e.event}:${e.data.state}`)).toEqual([
      'state:queued',
      'state:cancelled',
      'result:cancelled',
    ])
  })
})
