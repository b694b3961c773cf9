import type { JobStore } from '../../core/engine.js'
import type { JobRecord, JobState } from '../../core/jobs/job.js'
import { SwitchboardError } from '../../protocol/errors.js'

const MISSING = 'jobs are not available on the Redis engine yet; use the SQLite engine for jobs'

/** Jobs on Redis are not built yet: every write answers 503 with a clear reason; nothing is ever due. */
export class UnavailableJobs implements JobStore {
  async submit(): Promise<{ job: JobRecord; replayed: boolean }> {
    throw new SwitchboardError('engine_unavailable', MISSING)
  }

  async claim(): Promise<JobRecord | undefined> {
    throw new SwitchboardError('engine_unavailable', MISSING)
  }

  async change(): Promise<JobRecord> {
    throw new SwitchboardError('engine_unavailable', MISSING)
  }

  async due(): Promise<JobRecord[]> {
    return []
  }

  async get(): Promise<JobRecord | undefined> {
    return undefined
  }

  async nextDue(): Promise<number | undefined> {
    return undefined
  }

  async list(): Promise<JobRecord[]> {
    return []
  }

  async counts(): Promise<Record<JobState, number>> {
    throw new SwitchboardError('engine_unavailable', MISSING)
  }
}
