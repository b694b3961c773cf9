/** Something holding a push connection open: closed when the server drains. */
export interface PushConnection {
  /** Ends the connection so that the client reconnects (elsewhere) and resumes. */
  shutdown(): void
}

/** Every open SSE stream, WebSocket and TCP session of this node. */
export class PushRegistry {
  readonly #open = new Map<PushConnection, string>()

  add(connection: PushConnection, kind: string): () => void {
    this.#open.set(connection, kind)
    return () => this.#open.delete(connection)
  }

  count(kind?: string): number {
    if (kind === undefined) return this.#open.size
    let n = 0
    for (const k of this.#open.values()) if (k === kind) n += 1
    return n
  }

  shutdownAll(): void {
    for (const connection of [...this.#open.keys()]) connection.shutdown()
    this.#open.clear()
  }
}
