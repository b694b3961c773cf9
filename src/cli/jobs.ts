import type { Command } from 'commander'
import type { JobHandle } from '../../client/node.js'
import { clientFor, withUrl } from './connection.js'
import { dataArgument, fail, ProgressBar, show } from './output.js'

export function jobCommands(program: Command): void {
  const job = program.command('job').description('submit, watch and cancel jobs')

  withUrl(job.command('submit'))
    .description('submit a job; prints its id, or with --wait its result')
    .argument('<queue>')
    .argument('[data]', 'job data; - or absent reads stdin')
    .option('-w, --wait', 'wait for the job to end and print its result (progress bar on a terminal)')
    .option('--timeout <seconds>', 'with --wait: give up after this long')
    .option('--max-attempts <n>')
    .option('--delay-ms <ms>')
    .option('--idempotency-key <key>')
    .action(
      async (
        queue: string,
        data: string | undefined,
        opts: {
          url: string
          wait?: boolean
          timeout?: string
          maxAttempts?: string
          delayMs?: string
          idempotencyKey?: string
        },
      ) => {
        const client = clientFor(opts.url)
        try {
          const handle = await client.submit(queue, await dataArgument(data), {
            maxAttempts: opts.maxAttempts === undefined ? undefined : Number(opts.maxAttempts),
            delayMs: opts.delayMs === undefined ? undefined : Number(opts.delayMs),
            idempotencyKey: opts.idempotencyKey,
          })
          if (!opts.wait) {
            process.stdout.write(`${handle.id}\n`)
            return
          }
          const result = await follow(
            handle,
            opts.timeout === undefined ? undefined : Number(opts.timeout) * 1000,
          )
          process.stdout.write(`${show(result)}\n`)
        } catch (error) {
          fail(error)
        } finally {
          client.close()
        }
      },
    )

  withUrl(job.command('status'))
    .description('print a job as JSON')
    .argument('<id>')
    .action(async (id: string, opts: { url: string }) => {
      const client = clientFor(opts.url)
      try {
        process.stdout.write(`${JSON.stringify(await client.job(id).status())}\n`)
      } catch (error) {
        fail(error)
      } finally {
        client.close()
      }
    })

  withUrl(job.command('watch'))
    .description("print a job's events as JSON lines until it ends")
    .argument('<id>')
    .action(async (id: string, opts: { url: string }) => {
      const client = clientFor(opts.url)
      const handle = client.job(id)
      try {
        await handle.status()
        // From the job's first event to its last: every final state ends with a `result` event.
        await new Promise<void>((resolve, reject) => {
          const events = handle.events((event) => {
            process.stdout.write(`${JSON.stringify(event)}\n`)
            if (event.event !== 'result') return
            events.unsubscribe()
            resolve()
          })
          events.ready.catch(reject)
        })
      } catch (error) {
        fail(error)
      } finally {
        client.close()
      }
    })

  withUrl(job.command('cancel'))
    .description('cancel a job; prints it as JSON')
    .argument('<id>')
    .action(async (id: string, opts: { url: string }) => {
      const client = clientFor(opts.url)
      try {
        process.stdout.write(`${JSON.stringify(await client.job(id).cancel())}\n`)
      } catch (error) {
        fail(error)
      } finally {
        client.close()
      }
    })

  withUrl(program.command('rpc'))
    .description("call a queue's workers and print the result")
    .argument('<queue>')
    .argument('[data]', 'request data; - or absent reads stdin')
    .option('--timeout-ms <ms>', 'how long to wait for a worker', '30000')
    .action(async (queue: string, data: string | undefined, opts: { url: string; timeoutMs: string }) => {
      const client = clientFor(opts.url)
      try {
        const result = await client.call(queue, await dataArgument(data), {
          timeoutMs: Number(opts.timeoutMs),
        })
        process.stdout.write(`${show(result)}\n`)
      } catch (error) {
        fail(error)
      } finally {
        client.close()
      }
    })
}

/** Waits for the end of a job, drawing its progress on a terminal. */
async function follow(handle: JobHandle, timeoutMs: number | undefined): Promise<unknown> {
  const bar = new ProgressBar()
  const events = bar.visible ? handle.onProgress((progress) => bar.update(progress, handle.id)) : undefined
  try {
    return await handle.wait({ timeoutMs })
  } finally {
    events?.unsubscribe()
    bar.done()
  }
}
