import type { Command } from 'commander'
import { type Client, connect } from '../../client/node.js'

export const DEFAULT_URL = 'http://127.0.0.1:7070'

/** `--url` on a client command, defaulting to SWITCHBOARD_URL then the default listen address. */
export function withUrl(command: Command): Command {
  return command.option(
    '-u, --url <url>',
    'server URL [SWITCHBOARD_URL]',
    process.env.SWITCHBOARD_URL ?? DEFAULT_URL,
  )
}

/** A client that does not hold a push connection until something subscribes. */
export function clientFor(url: string, transport?: string): Client {
  return connect(url, {
    lazy: true,
    ...(transport ? { transport: transport as 'websocket' | 'sse' | 'longpoll' } : {}),
  })
}
