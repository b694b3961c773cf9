import { Listeners } from '../../core/listeners.js'
import type { PresenceMember, SharedPresence } from '../../core/presence.js'
import type { RedisClient } from './connection.js'
import type { RedisKeys } from './keys.js'

interface PresenceScripts {
  sbPresenceUpdate(keys: number, ...args: (string | number)[]): Promise<string>
  sbPresenceList(keys: number, ...args: (string | number)[]): Promise<string[]>
  sbPresenceSweep(keys: number, ...args: (string | number)[]): Promise<string[]>
}

export interface RedisPresenceOptions {
  readonly keys: RedisKeys
  readonly run: <T>(command: (client: RedisClient) => Promise<T>) => Promise<T>
  readonly node: string
  /** How long a node's entries live without a refresh: how soon a dead node's clients leave. */
  readonly ttlMs: number
}

/**
 * Presence across nodes on Redis (see presence-scripts.ts). Every third of the TTL a node renews
 * its own entries and sweeps the channels with presence for entries that expired; the node whose
 * sweep removes a client's last entry reports it, so its leave is announced once.
 */
export class RedisPresence implements SharedPresence {
  readonly #o: RedisPresenceOptions
  readonly #expired = new Listeners<[string, string]>()
  /** This node's entries: channel → client → since and connections. */
  readonly #own = new Map<string, Map<string, { since: number; connections: number }>>()
  /** Updates of one client on one channel go in order. */
  readonly #chains = new Map<string, Promise<unknown>>()
  readonly #timer: NodeJS.Timeout

  constructor(options: RedisPresenceOptions) {
    this.#o = options
    this.#timer = setInterval(() => void this.#tick().catch(() => {}), Math.max(50, options.ttlMs / 3))
    this.#timer.unref()
  }

  update(channel: string, client: string, since: number, connections: number) {
    let members = this.#own.get(channel)
    if (connections > 0) {
      if (!members) {
        members = new Map()
        this.#own.set(channel, members)
      }
      members.set(client, { since, connections })
    } else {
      members?.delete(client)
      if (members?.size === 0) this.#own.delete(channel)
    }
    const key = `${channel}\n${client}`
    const previous = this.#chains.get(key) ?? Promise.resolve()
    const next = previous.then(() => this.#write(channel, client, since, connections))
    const settled = next.catch(() => undefined)
    this.#chains.set(key, settled)
    void settled.then(() => {
      if (this.#chains.get(key) === settled) this.#chains.delete(key)
    })
    return next
  }

  async list(channel: string): Promise<PresenceMember[]> {
    const answer = await this.#scripts((s) => s.sbPresenceList(3, ...this.#keysOf(channel), Date.now()))
    const split = answer.indexOf('')
    for (const client of answer.slice(0, split)) this.#expired.emit(channel, client)
    const merged = new Map<string, { since: number; connections: number }>()
    for (let i = split + 1; i + 1 < answer.length; i += 2) {
      const client = answer[i].slice(0, answer[i].lastIndexOf('\n'))
      const [since, connections] = answer[i + 1].split('|').map(Number)
      const seen = merged.get(client)
      merged.set(client, {
        since: Math.min(since, seen?.since ?? since),
        connections: connections + (seen?.connections ?? 0),
      })
    }
    return [...merged].map(([client, m]) => ({ client, ...m }))
  }

  onExpired(listener: (channel: string, client: string) => void): () => void {
    return this.#expired.add(listener)
  }

  close(): void {
    clearInterval(this.#timer)
  }

  async #write(channel: string, client: string, since: number, connections: number) {
    const now = Date.now()
    if (connections > 0) await this.#o.run((c) => c.sadd(this.#o.keys.presenceChannels, channel))
    const result = await this.#scripts((s) =>
      s.sbPresenceUpdate(
        3,
        ...this.#keysOf(channel),
        client,
        this.#o.node,
        since,
        connections,
        now + this.#o.ttlMs,
        now,
      ),
    )
    return result === 'join' || result === 'leave' ? result : undefined
  }

  /** Renews this node's entries, then sweeps every channel with presence. */
  async #tick(): Promise<void> {
    const { keys, node, ttlMs } = this.#o
    const expires = Date.now() + ttlMs
    await Promise.all(
      [...this.#own].flatMap(([channel, members]) =>
        [...members.keys()].map((client) =>
          this.#o.run((c) => c.zadd(keys.presenceExpiry(channel), 'XX', expires, `${client}\n${node}`)),
        ),
      ),
    )
    const channels = await this.#o.run((c) => c.smembers(keys.presenceChannels))
    for (const channel of channels) {
      const left = await this.#scripts((s) => s.sbPresenceSweep(3, ...this.#keysOf(channel), Date.now()))
      for (const client of left) this.#expired.emit(channel, client)
      if (
        !this.#own.has(channel) &&
        (await this.#o.run((c) => c.exists(keys.presenceEntries(channel)))) === 0
      )
        await this.#o.run((c) => c.srem(keys.presenceChannels, channel))
    }
  }

  #keysOf(channel: string): [string, string, string] {
    const keys = this.#o.keys
    return [keys.presenceEntries(channel), keys.presenceCounts(channel), keys.presenceExpiry(channel)]
  }

  #scripts<T>(command: (scripts: PresenceScripts) => Promise<T>): Promise<T> {
    return this.#o.run((client) => command(client as unknown as PresenceScripts))
  }
}
