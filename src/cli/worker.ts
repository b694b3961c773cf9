import { spawn } from 'node:child_process'
import type { Command } from 'commander'
import type { WorkerJob } from '../../client/node.js'
import { clientFor, withUrl } from './connection.js'
import { paint, parseData, show } from './output.js'

const PROGRESS_LINE = /^::progress\s+(.+)$/

export function workerCommand(program: Command): void {
  withUrl(program.command('worker'))
    .description(
      'handle the jobs of a queue with a shell command: stdin = job data, stdout = result, ' +
        'non-zero exit = failure; a stderr line "::progress <value>" reports progress',
    )
    .argument('<queue>')
    .argument('<command...>', 'the command, after --')
    .option('-c, --concurrency <n>', 'jobs run at once', '1')
    .option('--lease-ms <ms>', 'lease per job, renewed while the command runs', '30000')
    .action(
      async (
        queue: string,
        command: string[],
        opts: { url: string; concurrency: string; leaseMs: string },
      ) => {
        const client = clientFor(opts.url)
        const worker = client.worker(queue, (job) => runCommand(command.join(' '), job), {
          concurrency: Number(opts.concurrency),
          leaseMs: Number(opts.leaseMs),
        })
        worker.on('completed', (job) => process.stderr.write(`${paint('green', 'done')} ${job.id}\n`))
        worker.on('failed', (job, error) =>
          process.stderr.write(`${paint('red', 'failed')} ${job.id}: ${error.message}\n`),
        )
        worker.on('error', (error) => process.stderr.write(`${paint('yellow', error.message)}\n`))
        const stop = () => {
          process.stderr.write('stopping: finishing the jobs in hand\n')
          worker.stop().then(() => {
            client.close()
            process.exit(0)
          })
        }
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      },
    )
}

function runCommand(command: string, job: WorkerJob): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { shell: true, stdio: ['pipe', 'pipe', 'pipe'], signal: job.signal })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk
      for (const line of chunk.split('\n')) {
        const progress = PROGRESS_LINE.exec(line.trim())
        if (progress) job.progress(parseData(progress[1])).catch(() => {})
      }
    })
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(parseData(out.replace(/\n$/, '')))
      else {
        const reason = err
          .trim()
          .split('\n')
          .filter((l) => !PROGRESS_LINE.test(l))
          .at(-1)
        reject(new Error(reason ? `exit ${code}: ${reason}` : `exit ${code}`))
      }
    })
    child.stdin.on('error', () => {})
    child.stdin.end(show(job.data ?? ''))
  })
}
