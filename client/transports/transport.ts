import type { WireMessage } from '../message.js'

export type TransportKind = 'websocket' | 'sse' | 'longpoll'

/** What a transport reports to the client that owns it. */
export interface TransportSink {
  /** A message of a subscribed channel; the client drops what it already has. */
  message(wire: WireMessage): void
  /** The last offset the client holds for a channel: where a (re)subscription resumes. */
  position(channel: string): number
  /** A subscription the server refused (bad channel, too many subscriptions …). */
  refused(channel: string, error: Error): void
  /** The connection, once open, is lost. Called at most once. */
  closed(error: Error): void
}

/** One way of receiving channels' messages over one connection. */
export interface Transport {
  readonly kind: TransportKind
  /** Opens and subscribes `channels` from their positions; rejects when the server refuses this transport. */
  open(channels: readonly string[]): Promise<void>
  subscribe(channel: string): void
  unsubscribe(channel: string): void
  /** Publishes over this connection, when the transport can. */
  publish?(channel: string, data: unknown): Promise<{ offset: number }>
  close(): void
}

/** The subset of the WHATWG WebSocket that the SDK uses; the browser's and `ws`'s both fit. */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike

/** The subset of the WHATWG EventSource that the SDK uses; the browser's and `eventsource`'s both fit. */
export interface EventSourceLike {
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: string }) => void) | null
  onerror: ((event: unknown) => void) | null
  close(): void
}
export type EventSourceConstructor = new (url: string) => EventSourceLike
