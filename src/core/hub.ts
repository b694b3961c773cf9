import { type Message, type ReadBatch, readBatch } from './message.js'

export type ReadFn = (channel: string, after: number, limit: number) => Promise<Message[]>

/** A held long poll. `settled` resolves with new messages, or with an empty batch at the end of the wait. */
export interface Waiter {
  readonly settled: Promise<ReadBatch>
  /** Removes the waiter at once (its client went away); `settled` then resolves empty. */
  cancel(): void
}

interface WaiterState {
  readonly after: number
  readonly limit: number
  readonly resolve: (batch: ReadBatch) => void
  timer: NodeJS.Timeout | undefined
  done: boolean
}

/** Waiters of one channel that asked for the same page: they get the same batch object. */
interface Group {
  readonly after: number
  readonly limit: number
  readonly waiters: Set<WaiterState>
}

/**
 * Where long polls wait for new messages. Waiters of a channel are grouped by the page they asked
 * for, so a publish releases thousands of them in one pass with one read and one shared batch.
 */
export class Hub {
  readonly #read: ReadFn
  readonly #channels = new Map<string, Map<string, Group>>()
  #waiting = 0

  constructor(read: ReadFn) {
    this.#read = read
  }

  /** Whether a long poll waits on the channel. */
  has(channel: string): boolean {
    return this.#channels.has(channel)
  }

  /** How many long polls are held now. */
  get waiting(): number {
    return this.#waiting
  }

  wait(channel: string, after: number, limit: number, waitMs: number): Waiter {
    const key = `${after}/${limit}`
    let groups = this.#channels.get(channel)
    if (!groups) {
      groups = new Map()
      this.#channels.set(channel, groups)
    }
    let group = groups.get(key)
    if (!group) {
      group = { after, limit, waiters: new Set() }
      groups.set(key, group)
    }
    const ownGroup = group
    let state!: WaiterState
    const settled = new Promise<ReadBatch>((resolve) => {
      state = { after, limit, resolve, timer: undefined, done: false }
    })
    ownGroup.waiters.add(state)
    this.#waiting += 1
    const finish = (batch: ReadBatch) => this.#settle(channel, key, ownGroup, state, batch)
    state.timer = setTimeout(() => finish(readBatch(channel, after, [])), waitMs)
    return { settled, cancel: () => finish(readBatch(channel, after, [])) }
  }

  /** New messages of a channel (in offset order): releases every waiter they answer. */
  deliver(channel: string, messages: readonly Message[]): void {
    const groups = this.#channels.get(channel)
    if (!groups || messages.length === 0) return
    const last = messages[messages.length - 1].offset
    for (const [key, group] of groups) {
      if (group.after >= last) continue
      groups.delete(key)
      if (messages[0].offset <= group.after + 1) {
        const page = messages.filter((m) => m.offset > group.after).slice(0, group.limit)
        this.#release(channel, group, readBatch(channel, group.after, page))
      } else {
        // Older messages than these are missing here (another node wrote them): read the page once.
        this.#read(channel, group.after, group.limit).then(
          (page) => this.#release(channel, group, readBatch(channel, group.after, page)),
          () => this.#release(channel, group, readBatch(channel, group.after, [])),
        )
      }
    }
    if (groups.size === 0) this.#channels.delete(channel)
  }

  /** Answers every held poll with an empty batch (the server is draining). */
  releaseAll(): void {
    for (const [channel, groups] of this.#channels) {
      for (const group of groups.values()) this.#release(channel, group, readBatch(channel, group.after, []))
    }
    this.#channels.clear()
  }

  #release(channel: string, group: Group, batch: ReadBatch): void {
    for (const state of group.waiters) this.#settle(channel, undefined, group, state, batch)
  }

  #settle(
    channel: string,
    key: string | undefined,
    group: Group,
    state: WaiterState,
    batch: ReadBatch,
  ): void {
    if (state.done) return
    state.done = true
    clearTimeout(state.timer)
    this.#waiting -= 1
    group.waiters.delete(state)
    if (key !== undefined && group.waiters.size === 0) {
      const groups = this.#channels.get(channel)
      if (groups?.get(key) === group) {
        groups.delete(key)
        if (groups.size === 0) this.#channels.delete(channel)
      }
    }
    state.resolve(batch)
  }
}
