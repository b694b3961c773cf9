/**
 * The Switchboard SDK for browsers (and any runtime with fetch, WebSocket and EventSource).
 * In Node, import `client/node.js`, which supplies `ws` and `eventsource`.
 */
import { Client, type ClientOptions } from './client.js'

export type {
  ClientOptions,
  ConnectionState,
  PresenceEvent,
  PresenceMember,
  PublishOptions,
  PublishResult,
  SubscribeOptions,
} from './client.js'
export { Client } from './client.js'
export * from './errors.js'
export type { Job, JobEvent, JobStateName, SubmitOptions } from './jobs.js'
export { JobHandle } from './jobs.js'
export type { ChannelMessage } from './message.js'
export { Subscription } from './subscription.js'
export type { TransportKind } from './transports/transport.js'
export type { WorkerJob, WorkerOptions } from './worker.js'
export { Worker } from './worker.js'

/** A client for the server at `url` (e.g. `http://127.0.0.1:7070`); it connects at once. */
export function connect(url: string, options: ClientOptions = {}): Client {
  return new Client(url, options)
}
