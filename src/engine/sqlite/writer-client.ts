import type { Worker } from 'node:worker_threads'
import type { ChannelSettings, NamespaceRule } from '../../core/namespaces.js'
import { isErrorCode, SwitchboardError } from '../../protocol/errors.js'
import { moduleWorker } from '../module-worker.js'
import type { Fsync } from './schema.js'
import type { WriterOp, WriterOpName, WriterOps, WriterReply, WriterRequest } from './writer-ops.js'

export interface WriterThreadData {
  readonly file: string
  readonly fsync: Fsync
  readonly namespaces: readonly NamespaceRule[]
  readonly defaults: ChannelSettings
  readonly idempotencyWindowMs: number
  readonly jobRetentionMs: number
  readonly sweepIntervalMs: number
}

interface Pending {
  readonly op: WriterOp
  readonly resolve: (value: unknown) => void
  readonly reject: (error: Error) => void
}

/** Ops per batch at most, so that one transaction stays short. */
const MAX_BATCH = 5000

/**
 * Group commit: calls made while a batch is being written wait and go together in the next one,
 * so many concurrent writes share one transaction and one fsync, and throughput rises with load.
 */
export class WriterClient {
  readonly #worker: Worker
  readonly #pending: Pending[] = []
  #inFlight: Pending[] | undefined
  #scheduled = false
  #nextId = 1
  #failure: Error | undefined
  #closed: Promise<void> | undefined
  #onClosed: (() => void) | undefined
  #batchWaiters: (() => void)[] = []

  constructor(data: WriterThreadData) {
    this.#worker = moduleWorker(import.meta.url, 'writer-thread', data)
    this.#worker.on('message', (reply: WriterReply) => this.#receive(reply))
    this.#worker.on('error', (error) => this.#fail(error))
    this.#worker.on('exit', (code) => {
      if (!this.#onClosed) this.#fail(new Error(`SQLite writer thread exited with code ${code}`))
      this.#onClosed?.()
    })
  }

  /** Set when the writer thread failed: the engine is no longer usable. */
  get failure(): Error | undefined {
    return this.#failure
  }

  call<K extends WriterOpName>(op: K, args: Parameters<WriterOps[K]>[0]): Promise<ReturnType<WriterOps[K]>> {
    if (this.#failure) return Promise.reject(unavailable(this.#failure))
    if (this.#closed) return Promise.reject(new SwitchboardError('shutting_down', 'the engine is closing'))
    return new Promise((resolve, reject) => {
      this.#pending.push({ op: { op, args }, resolve: resolve as (value: unknown) => void, reject })
      this.#schedule()
    })
  }

  /** Resolves once every write accepted so far is committed. */
  async flush(): Promise<void> {
    while (this.#inFlight || this.#pending.length > 0) {
      await new Promise<void>((resolve) => this.#batchWaiters.push(resolve))
    }
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.flush()
      if (this.#failure) {
        await this.#worker.terminate()
        return
      }
      await new Promise<void>((resolve) => {
        this.#onClosed = resolve
        this.#worker.postMessage({ kind: 'close' } satisfies WriterRequest)
      })
    })()
    return this.#closed
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight) return
    this.#scheduled = true
    // Wait for the rest of this event-loop turn, so requests parsed together commit together.
    setImmediate(() => {
      this.#scheduled = false
      this.#send()
    })
  }

  #send(): void {
    if (this.#inFlight || this.#pending.length === 0) return
    const batch = this.#pending.splice(0, MAX_BATCH)
    this.#inFlight = batch
    const request: WriterRequest = { kind: 'batch', id: this.#nextId++, ops: batch.map((p) => p.op) }
    this.#worker.postMessage(request)
  }

  #receive(reply: WriterReply): void {
    if (reply.kind !== 'batch') return
    const batch = this.#inFlight ?? []
    this.#inFlight = undefined
    reply.results.forEach((result, i) => {
      if (result.ok) batch[i].resolve(result.value)
      else
        batch[i].reject(
          new SwitchboardError(isErrorCode(result.code) ? result.code : 'internal', result.message),
        )
    })
    this.#send()
    this.#wakeFlushes()
  }

  #wakeFlushes(): void {
    for (const wake of this.#batchWaiters.splice(0)) wake()
  }

  #fail(error: Error): void {
    if (this.#failure) return
    this.#failure = error
    const waiting = [...(this.#inFlight ?? []), ...this.#pending.splice(0)]
    this.#inFlight = undefined
    for (const p of waiting) p.reject(unavailable(error))
    this.#wakeFlushes()
  }
}

function unavailable(error: Error): SwitchboardError {
  return new SwitchboardError('unavailable', `storage is unavailable: ${error.message}`)
}
