/** Settings a channel inherits from the namespace its name falls in (`chat:*`, or an exact name). */
export interface ChannelSettings {
  /** Keep only in memory: no persistence, no fsync; lost on restart. */
  readonly ephemeral: boolean
  /** Retention by count: older messages are trimmed past this many. */
  readonly maxMessages: number
  /** Retention by age in milliseconds; 0 keeps messages whatever their age. */
  readonly maxAgeMs: number
  /** Track who is subscribed and announce joins and leaves. */
  readonly presence: boolean
  /** Push every message to this HTTP endpoint, in order, until it answers 2xx. */
  readonly webhook: WebhookSettings | undefined
}

export interface WebhookSettings {
  /** An http:// or https:// URL, POSTed one message at a time. */
  readonly url: string
  /** The HMAC-SHA256 key of the `Switchboard-Signature` header. */
  readonly secret: string
  /** Longest wait for one delivery's answer. */
  readonly timeoutMs: number
  /** Longest wait between two tries of the same message. */
  readonly maxBackoffMs: number
}

export interface NamespaceRule extends Partial<ChannelSettings> {
  /** `prefix*` matches every channel starting with prefix; anything else matches one name exactly. */
  readonly pattern: string
}

export const DEFAULT_CHANNEL_SETTINGS: ChannelSettings = {
  ephemeral: false,
  maxMessages: 1_000_000,
  maxAgeMs: 7 * 24 * 3600 * 1000,
  presence: false,
  webhook: undefined,
}

const CACHE_LIMIT = 10_000

/** Resolves a channel's settings: the longest matching pattern wins, over the defaults. */
export class Namespaces {
  readonly #rules: readonly NamespaceRule[]
  readonly #defaults: ChannelSettings
  readonly #cache = new Map<string, ChannelSettings>()

  constructor(rules: readonly NamespaceRule[] = [], defaults: Partial<ChannelSettings> = {}) {
    this.#defaults = { ...DEFAULT_CHANNEL_SETTINGS, ...defaults }
    this.#rules = [...rules].sort((a, b) => specificity(b.pattern) - specificity(a.pattern))
  }

  get rules(): readonly NamespaceRule[] {
    return this.#rules
  }

  get defaults(): ChannelSettings {
    return this.#defaults
  }

  settingsFor(channel: string): ChannelSettings {
    const cached = this.#cache.get(channel)
    if (cached) return cached
    const rule = this.#rules.find((r) => matches(r.pattern, channel))
    const settings = rule ? { ...this.#defaults, ...withoutPattern(rule) } : this.#defaults
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear()
    this.#cache.set(channel, settings)
    return settings
  }
}

function matches(pattern: string, channel: string): boolean {
  return pattern.endsWith('*') ? channel.startsWith(pattern.slice(0, -1)) : channel === pattern
}

/** Exact names beat any prefix; longer prefixes beat shorter ones. */
function specificity(pattern: string): number {
  return pattern.endsWith('*') ? pattern.length - 1 : Number.MAX_SAFE_INTEGER
}

function withoutPattern(rule: NamespaceRule): Partial<ChannelSettings> {
  const { pattern: _pattern, ...settings } = rule
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined))
}
