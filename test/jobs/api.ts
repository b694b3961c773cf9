import type { Dispatcher } from 'undici'
import { call, type JsonResponse, postJson } from '../helpers/http.js'

/** A job as the API answers it. */
export interface JobView {
  id: string
  queue: string
  state: string
  progress: unknown
  result: unknown
  error: unknown
  errors: unknown[]
  attempts: number
  data?: unknown
  lease?: string
  lease_expires_at?: number
}

/** The HTTP calls of API.md's Jobs section, for tests. */
export function jobsApi(base: string, dispatcher?: Dispatcher) {
  const post = <T = JobView>(path: string, body: unknown, headers: Record<string, string> = {}) =>
    call<T>(`${base}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
      dispatcher,
    })
  return {
    submit: (queue: string, body: unknown, headers: Record<string, string> = {}) =>
      post(`/v1/queues/${queue}/jobs`, body, headers),
    get: (id: string, wait?: number) =>
      call<JobView>(`${base}/v1/jobs/${id}${wait === undefined ? '' : `?wait=${wait}`}`, { dispatcher }),
    cancel: (id: string) => call<JobView>(`${base}/v1/jobs/${id}`, { method: 'DELETE', dispatcher }),
    claim: (queue: string, wait = 0, leaseMs?: number): Promise<JsonResponse<JobView>> =>
      call<JobView>(
        `${base}/v1/queues/${queue}/claim?wait=${wait}${leaseMs === undefined ? '' : `&lease_ms=${leaseMs}`}`,
        { method: 'POST', dispatcher },
      ),
    heartbeat: (id: string, lease: string) =>
      post<{ cancelled: boolean; lease_expires_at: number }>(
        `/v1/jobs/${id}/heartbeat`,
        {},
        { 'switchboard-lease': lease },
      ),
    progress: (id: string, lease: string, progress: unknown) =>
      post(`/v1/jobs/${id}/progress`, { progress }, { 'switchboard-lease': lease }),
    /** `next`: the query that asks for the queue's next job in the answer, e.g. `next=true`. */
    complete: (id: string, lease: string, result: unknown, next?: string) =>
      post<JobView & { next?: JobView | null }>(
        `/v1/jobs/${id}/complete${next ? `?${next}` : ''}`,
        { result },
        { 'switchboard-lease': lease },
      ),
    fail: (id: string, lease: string, error: unknown, retry?: boolean, next?: string) =>
      post<JobView & { next?: JobView | null }>(
        `/v1/jobs/${id}/fail${next ? `?${next}` : ''}`,
        { error, ...(retry === undefined ? {} : { retry }) },
        { 'switchboard-lease': lease },
      ),
    rpc: (queue: string, body: unknown, timeoutMs: number) =>
      postJson(`${base}/v1/rpc/${queue}?timeout_ms=${timeoutMs}`, body),
  }
}
