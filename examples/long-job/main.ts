/**
 * A long job: "upload a video" submits a job, the page shows its progress and result, and a
 * refresh reattaches to the same job by its id. A worker in this process plays the transcoder.
 * Run: npm run example:long-job
 */
import { connect } from '../../client/node.js'
import { runExample } from '../lib/run.js'

const server = await runExample('long-job')
const steps = Number(process.env.STEPS ?? 10)
const stepMs = Number(process.env.STEP_MS ?? 300)

const worker = connect(server.url, { lazy: true }).worker<{ file: string }, { url: string }>(
  'transcode',
  async (job) => {
    for (let step = 1; step <= steps; step++) {
      if (job.signal.aborted) throw new Error('cancelled')
      await new Promise((resolve) => setTimeout(resolve, stepMs))
      await job.progress(Math.round((step / steps) * 100))
    }
    return { url: `/videos/${encodeURIComponent(job.data.file)}.webm` }
  },
  { concurrency: 2, leaseMs: 5000 },
)
process.once('SIGTERM', () => worker.stop())
