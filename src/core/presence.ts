import type { Engine } from './engine.js'

/** One client present on a channel, however many of its connections subscribe to it. */
export interface PresenceMember {
  readonly client: string
  /** When its first current subscription started (ms since the epoch). */
  readonly since: number
  readonly connections: number
}

/** Who is subscribed to a channel now, on this node. */
export interface PresenceStore {
  /** Counts one more subscription of `client`; true when it is the client's first on the channel. */
  join(channel: string, client: string, now: number): boolean
  /** Counts one less; true when it was the client's last. */
  leave(channel: string, client: string): boolean
  list(channel: string): PresenceMember[]
  /** The client's entry on the channel, if it is present. */
  member(channel: string, client: string): PresenceMember | undefined
}

/**
 * Presence shared by the nodes of one engine (Redis). Each node reports its own connections; a
 * client is present while any node reports it, and an entry of a node that died expires.
 */
export interface SharedPresence {
  /**
   * Sets this node's entry for `client` on `channel` (`connections` 0 removes it). Answers `join`
   * when no node had the client before, `leave` when no node has it now.
   */
  update(
    channel: string,
    client: string,
    since: number,
    connections: number,
  ): Promise<'join' | 'leave' | undefined>
  /** Every node's clients, merged per client. */
  list(channel: string): Promise<PresenceMember[]>
  /** Clients that left because the entries of their (dead) node expired. */
  onExpired(listener: (channel: string, client: string) => void): () => void
}

export class LocalPresence implements PresenceStore {
  readonly #channels = new Map<string, Map<string, { since: number; connections: number }>>()

  join(channel: string, client: string, now: number): boolean {
    let members = this.#channels.get(channel)
    if (!members) {
      members = new Map()
      this.#channels.set(channel, members)
    }
    const member = members.get(client)
    if (member) {
      member.connections += 1
      return false
    }
    members.set(client, { since: now, connections: 1 })
    return true
  }

  leave(channel: string, client: string): boolean {
    const members = this.#channels.get(channel)
    const member = members?.get(client)
    if (!members || !member) return false
    member.connections -= 1
    if (member.connections > 0) return false
    members.delete(client)
    if (members.size === 0) this.#channels.delete(channel)
    return true
  }

  list(channel: string): PresenceMember[] {
    return [...(this.#channels.get(channel) ?? [])].map(([client, m]) => ({ client, ...m }))
  }

  member(channel: string, client: string): PresenceMember | undefined {
    const member = this.#channels.get(channel)?.get(client)
    return member && { client, ...member }
  }
}

/** The channel where joins and leaves of `channel` are announced. */
export function presenceChannel(channel: string): string {
  return `$presence:${channel}`
}

/** Appends a join or leave event to the channel's presence channel. */
export function announce(
  engine: Engine,
  channel: string,
  event: 'join' | 'leave',
  client: string,
): Promise<unknown> {
  const payload = Buffer.from(JSON.stringify({ event, channel, client }))
  return engine.append([
    { channel: presenceChannel(channel), headers: { event }, contentType: 'application/json', payload },
  ])
}
