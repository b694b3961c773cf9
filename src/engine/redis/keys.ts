/**
 * The key layout. Every key of one channel carries the hash tag `{c:<channel>}` so that a Redis
 * Cluster keeps them in one slot and a Lua script may touch them together.
 */
export class RedisKeys {
  readonly prefix: string

  constructor(prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error(`redis prefix must not contain braces: ${prefix}`)
    this.prefix = prefix
  }

  /** The channel's stream: one entry per message, id `<offset>-0`. */
  stream(channel: string): string {
    return `${this.prefix}{c:${channel}}:s`
  }

  /** The channel's hash: `last` (offset counter) and `bytes` (payload bytes retained). */
  meta(channel: string): string {
    return `${this.prefix}{c:${channel}}:m`
  }

  idempotency(scope: string, key: string): string {
    return `${this.prefix}{i:${scope}}:${key}`
  }

  /** Sorted set (all scores 0) of every channel name ever written, for prefix listing by lex range. */
  get registry(): string {
    return `${this.prefix}channels`
  }

  get cursors(): string {
    return `${this.prefix}cursors`
  }

  /** The pub/sub channel announcing appends: `<channel>\n<first>\n<last>`. */
  get notify(): string {
    return `${this.prefix}notify`
  }
}
