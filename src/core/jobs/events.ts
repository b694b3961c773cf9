import type { AppendItem } from '../engine.js'
import { jobChannel } from './job.js'
import type { Applied } from './machine.js'

/** The messages that applied changes append to their jobs' channels (`$job:<id>`), in order. */
export function jobEventItems(applied: readonly Applied[]): AppendItem[] {
  return applied.flatMap(({ job, events }) =>
    events.map((e) => ({
      channel: jobChannel(job.id),
      headers: { event: e.event },
      contentType: 'application/json',
      payload: Buffer.from(JSON.stringify(e.data)),
    })),
  )
}
