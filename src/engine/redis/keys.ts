import { jobChannel } from '../../core/jobs/job.js'

const JOB_CHANNEL = jobChannel('')

/**
 * The key layout. Every key of one channel carries the hash tag `{c:<channel>}` so that a Redis
 * Cluster keeps them in one slot and a Lua script may touch them together. A job's channel
 * (`$job:<id>`) lives in the jobs' slot `{jobs}`, so a job's change and its events are one script.
 */
export class RedisKeys {
  readonly prefix: string

  constructor(prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error(`redis prefix must not contain braces: ${prefix}`)
    this.prefix = prefix
  }

  /** The channel's stream: one entry per message, id `<offset>-0`. */
  stream(channel: string): string {
    return `${this.#channelKey(channel)}:s`
  }

  /** The channel's hash: `last` (offset counter) and `bytes` (payload bytes retained). */
  meta(channel: string): string {
    return `${this.#channelKey(channel)}:m`
  }

  #channelKey(channel: string): string {
    return channel.startsWith(JOB_CHANNEL)
      ? `${this.jobChannelPrefix}${channel.slice(JOB_CHANNEL.length)}`
      : `${this.prefix}{c:${channel}}`
  }

  /** What a job's id follows in the keys of the job's channel (`…:s` stream, `…:m` meta). */
  get jobChannelPrefix(): string {
    return `${this.prefix}{jobs}:c:${JOB_CHANNEL}`
  }

  /** A publish's idempotency key, in a slot of its own. */
  idempotency(scope: string, key: string): string {
    return `${this.prefix}{i:${scope}}:${key}`
  }

  /** The same, in the channel's slot: on a Cluster, where the append script may touch one slot only. */
  channelIdempotency(channel: string, scope: string, key: string): string {
    return `${this.#channelKey(channel)}:i:${scope}:${key}`
  }

  /** Sorted set (all scores 0) of every channel name ever written, for prefix listing by lex range. */
  get registry(): string {
    return `${this.prefix}channels`
  }

  get cursors(): string {
    return `${this.prefix}cursors`
  }

  /** The pub/sub channel announcing appends: `<channel>\n<first>\n<last>`. */
  get notify(): string {
    return `${this.prefix}notify`
  }

  /** A job's document. Every key of jobs has the hash tag `{jobs}`: one slot, so scripts may touch them together. */
  job(id: string): string {
    return `${this.jobPrefix}${id}`
  }

  get jobPrefix(): string {
    return `${this.prefix}{jobs}:j:`
  }

  /** A queue's list of queued job ids, front first. */
  queue(queue: string): string {
    return `${this.prefix}{jobs}:q:${queue}`
  }

  /** Sorted set of active and delayed job ids by the time their lease or delay ends. */
  get due(): string {
    return `${this.prefix}{jobs}:due`
  }

  /** Sorted set of a queue's job ids in one state, by creation time (listing and counts). */
  jobState(queue: string, state: string): string {
    return `${this.jobStatePrefix}${queue}:${state}`
  }

  get jobStatePrefix(): string {
    return `${this.prefix}{jobs}:s:`
  }

  /** Sorted set of final job ids by the time they ended (retention). */
  get ended(): string {
    return `${this.prefix}{jobs}:ended`
  }

  jobIdempotency(scope: string, key: string): string {
    return `${this.prefix}{jobs}:k:${scope}:${key}`
  }

  /** The pub/sub channel where nodes tell each other of queued jobs and due times. */
  get jobsNotify(): string {
    return `${this.prefix}jobs`
  }

  /** A channel's presence entries `<client>\n<node>` → `<since>|<connections>`. */
  presenceEntries(channel: string): string {
    return `${this.prefix}{p:${channel}}:e`
  }

  /** A channel's count of entries (nodes) per client. */
  presenceCounts(channel: string): string {
    return `${this.prefix}{p:${channel}}:c`
  }

  /** A channel's presence entries by expiry time. */
  presenceExpiry(channel: string): string {
    return `${this.prefix}{p:${channel}}:x`
  }

  /** Set of the channels that have presence entries, for sweeping. */
  get presenceChannels(): string {
    return `${this.prefix}presence`
  }
}
