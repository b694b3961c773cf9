import type { Cursors } from '../../core/engine.js'
import type { RedisClient } from './connection.js'

/** Runs a command on a pooled client, turning a lost connection into `engine_unavailable`. */
export type CommandRunner = <T>(command: (client: RedisClient) => Promise<T>) => Promise<T>

/** Cursors in one hash: small, read rarely, written once per delivered batch. */
export class RedisCursors implements Cursors {
  readonly #run: CommandRunner
  readonly #key: string

  constructor(run: CommandRunner, key: string) {
    this.#run = run
    this.#key = key
  }

  async get(name: string): Promise<number | undefined> {
    const value = await this.#run((client) => client.hget(this.#key, name))
    return value === null ? undefined : Number(value)
  }

  async set(name: string, offset: number): Promise<void> {
    await this.#run((client) => client.hset(this.#key, name, String(offset)))
  }

  async list(prefix: string): Promise<Map<string, number>> {
    const all = await this.#run((client) => client.hgetall(this.#key))
    return new Map(
      Object.entries(all)
        .filter(([name]) => name.startsWith(prefix))
        .map(([name, value]) => [name, Number(value)]),
    )
  }
}
