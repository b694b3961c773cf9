import type { Command } from 'commander'
import type { ChannelMessage } from '../../client/node.js'
import { clientFor, withUrl } from './connection.js'
import { dataArgument, fail, paint, show } from './output.js'

export function channelCommands(program: Command): void {
  withUrl(program.command('pub'))
    .description('publish one message (data as JSON if it parses, else as a string; stdin when omitted)')
    .argument('<channel>')
    .argument('[data]', 'the payload; - or absent reads stdin')
    .option('--json', 'print the answer as JSON')
    .action(async (channel: string, data: string | undefined, opts: { url: string; json?: boolean }) => {
      const client = clientFor(opts.url)
      try {
        const result = await client.publish(channel, await dataArgument(data))
        process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `${result.offset}\n`)
      } catch (error) {
        fail(error)
      } finally {
        client.close()
      }
    })

  withUrl(program.command('sub'))
    .description('follow channels and print each message as it arrives')
    .argument('<channels...>')
    .option(
      '-a, --after <offset>',
      'start after this offset (0 = from the oldest retained); default: new messages only',
    )
    .option('-n, --count <n>', 'exit after this many messages')
    .option('--json', 'print each message as one JSON line')
    .option('-t, --transport <kind>', 'websocket, sse or longpoll (default: the best available)')
    .action(
      async (
        channels: string[],
        opts: { url: string; after?: string; count?: string; json?: boolean; transport?: string },
      ) => {
        const client = clientFor(opts.url, opts.transport)
        const after = opts.after === undefined ? undefined : Number(opts.after)
        const limit = opts.count === undefined ? Number.POSITIVE_INFINITY : Number(opts.count)
        if ((after !== undefined && !Number.isInteger(after)) || !(limit > 0))
          fail(new Error('--after and --count take whole numbers'))
        let seen = 0
        const print = (message: ChannelMessage) => {
          process.stdout.write(`${opts.json ? JSON.stringify(message, bytesAsBase64) : line(message)}\n`)
          seen += 1
          if (seen >= limit) {
            client.close()
            process.exit(0)
          }
        }
        // One line per lost connection, not one per reconnect attempt.
        let lastError = ''
        client.on('error', (error) => {
          lastError = error.message
        })
        client.on('state', (state) => {
          if (state === 'disconnected' && lastError) {
            process.stderr.write(`${paint('yellow', `disconnected (${lastError}); reconnecting`)}\n`)
            lastError = ''
          }
        })
        const subscriptions = channels.map((channel) =>
          client.subscribe(channel, print, after === undefined ? {} : { after }),
        )
        for (const subscription of subscriptions) subscription.ready.catch(fail)
        process.on('SIGINT', () => {
          client.close()
          process.exit(0)
        })
      },
    )
}

function line(message: ChannelMessage): string {
  const payload = message.bytes
    ? `<${message.bytes.byteLength} bytes ${message.contentType}>`
    : show(message.data)
  return `${paint('dim', `${message.channel} ${message.offset}`, process.stdout)} ${payload}`
}

function bytesAsBase64(key: string, value: unknown): unknown {
  return key === 'bytes' && value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value
}
