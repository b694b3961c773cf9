import type { AppendItem } from '../engine.js'
import { jobChannel } from './job.js'
import type { Applied } from './machine.js'

/** A job event to append, with its payload also as text (a networked engine may send that as is). */
export interface JobEventItem extends AppendItem {
  readonly text: string
}

/** The messages that applied changes append to their jobs' channels (`$job:<id>`), in order. */
export function jobEventItems(applied: readonly Applied[]): JobEventItem[] {
  let last: { data: unknown; text: string; payload: Buffer } | undefined
  return applied.flatMap(({ job, events }) =>
    events.map((e) => {
      // A final state's `state` and `result` events carry the same view: serialised once.
      const same = last?.data === e.data ? last : undefined
      const text = same?.text ?? JSON.stringify(e.data)
      const payload = same?.payload ?? Buffer.from(text)
      last = { data: e.data, text, payload }
      return {
        channel: jobChannel(job.id),
        headers: { event: e.event },
        contentType: 'application/json',
        payload,
        text,
      }
    }),
  )
}
