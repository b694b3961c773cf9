import { readFileSync } from 'node:fs'
import { z } from 'zod'

const MiB = 1024 * 1024

const positiveInt = z.number().int().positive()
const nonNegativeInt = z.number().int().nonnegative()

const webhookSchema = z
  .object({
    url: z
      .string({ error: 'is required: the http:// or https:// endpoint messages are POSTed to' })
      .refine(isHttpUrl, {
        error: (issue) => `must be an http:// or https:// URL, got ${JSON.stringify(issue.input)}`,
      }),
    secret: z
      .string({ error: 'is required: the key of the Switchboard-Signature HMAC' })
      .min(16, 'must be at least 16 characters'),
    timeoutMs: positiveInt.default(10_000),
    maxBackoffMs: positiveInt.default(60_000),
  })
  .strict()

const namespaceSchema = z
  .object({
    pattern: z.string().min(1),
    ephemeral: z.boolean().optional(),
    maxMessages: positiveInt.optional(),
    maxAgeMs: nonNegativeInt.optional(),
    presence: z.boolean().optional(),
    webhook: webhookSchema.optional(),
  })
  .strict()

const limitsSchema = z
  .object({
    payloadBytes: positiveInt.default(MiB),
    batchMessages: positiveInt.default(1000),
    batchBytes: positiveInt.default(16 * MiB),
    headerBytes: positiveInt.default(16 * 1024),
    readLimit: positiveInt.default(1000),
    maxWaitSeconds: z.number().positive().default(60),
    maxLongPolls: positiveInt.default(50_000),
    requestTimeoutMs: positiveInt.default(30_000),
    headersTimeoutMs: positiveInt.default(10_000),
    keepAliveTimeoutMs: positiveInt.default(30_000),
    idleTimeoutMs: positiveInt.default(120_000),
    maxConnections: positiveInt.default(50_000),
    maxConnectionsPerClient: positiveInt.default(10_000),
    subscriptionsPerConnection: positiveInt.default(1000),
    pushBufferBytes: positiveInt.default(MiB),
    slowConsumerMs: positiveInt.default(30_000),
    ratePerSecond: nonNegativeInt.default(10_000),
    rateBurst: nonNegativeInt.default(0),
    frameRatePerSecond: nonNegativeInt.default(10_000),
  })
  .strict()

export const configSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(7070),
    /** The raw TCP protocol's port; 0 picks a free one, -1 turns it off. */
    tcpPort: z.number().int().min(-1).max(65535).default(7071),
    dataDir: z.string().min(1).default('./data'),
    engine: z
      .string()
      .regex(
        /^(sqlite|memory|(redis|rediss|redis\+sentinel|redis\+cluster):\/\/\S+)$/,
        'must be sqlite, memory, redis://…, rediss://…, redis+sentinel://h:p,…/master or redis+cluster://h:p,…',
      )
      .default('sqlite'),
    /** Put in front of every Redis key: several deployments can share one Redis. */
    redisPrefix: z
      .string()
      .regex(/^[^{}\s]*$/, 'must not contain braces or spaces')
      .default('switchboard:'),
    /** Processes sharing the port (node:cluster); more than one needs a shared engine (Redis). */
    workers: z.number().int().min(1).max(256).default(1),
    fsync: z.enum(['always', 'os']).default('always'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    idempotencyWindowMs: positiveInt.default(24 * 3600 * 1000),
    shutdownTimeoutMs: positiveInt.default(8000),
    /** PEM files: with them the port speaks TLS, HTTP/2 (ALPN h2) and HTTP/1.1. */
    tls: z
      .object({ cert: z.string().min(1), key: z.string().min(1) })
      .strict()
      .optional(),
    /**
     * Proxies whose `X-Forwarded-For` names the client (addresses, CIDRs, or `loopback`,
     * `linklocal`, `uniquelocal`, comma-separated); empty trusts none.
     */
    trustProxy: z
      .string()
      .regex(
        /^(\s*([0-9A-Fa-f.:]+(\/\d{1,3})?|loopback|linklocal|uniquelocal)\s*(,|$))*$/,
        'must be addresses or CIDRs (or loopback, linklocal, uniquelocal), comma-separated',
      )
      .default(''),
    /** A directory of static files served at `/` (a dashboard, an app, the examples). */
    webRoot: z.string().min(1).optional(),
    channelDefaults: z
      .object({ maxMessages: positiveInt.optional(), maxAgeMs: nonNegativeInt.optional() })
      .strict()
      .prefault({}),
    namespaces: z.array(namespaceSchema).default([]),
    jobs: z
      .object({
        /** How long a finished job (and its result) is kept. */
        retentionMs: positiveInt.default(24 * 3600 * 1000),
        /** Lease of a claim that asks for none. */
        defaultLeaseMs: z.number().int().min(100).default(30_000),
        maxLeaseMs: z.number().int().min(100).default(3_600_000),
        /** Retry backoff: the ceiling doubles from base per attempt up to max, with jitter. */
        backoffBaseMs: positiveInt.default(1000),
        backoffMaxMs: positiveInt.default(300_000),
        /** Longest RPC wait. */
        maxRpcTimeoutMs: positiveInt.default(300_000),
      })
      .strict()
      .prefault({}),
    push: z
      .object({
        /** SSE: comment lines this often keep idle streams and their proxies alive. */
        keepAliveMs: positiveInt.default(15_000),
        /** SSE: the `retry:` hint, how long clients wait before reconnecting. */
        retryMs: positiveInt.default(2000),
        /** WebSocket: protocol pings this often; a peer that misses one is closed. */
        pingIntervalMs: positiveInt.default(30_000),
        /** WebSocket permessage-deflate: off by default (a compression bomb risk). */
        compression: z.boolean().default(false),
        /** Shared engine: how long a node's presence entries outlive it, so a dead node's clients leave. */
        presenceTtlMs: positiveInt.default(30_000),
      })
      .strict()
      .prefault({}),
    limits: limitsSchema.prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.limits.idleTimeoutMs <= config.limits.maxWaitSeconds * 1000) {
      ctx.addIssue({
        code: 'custom',
        path: ['limits', 'idleTimeoutMs'],
        message: `must be longer than the longest long-poll wait (${config.limits.maxWaitSeconds} s)`,
      })
    }
  })

export type Config = z.infer<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>

type Kind = 'int' | 'number' | 'string' | 'boolean'

/** Every setting a flag or an environment variable can set: `--name` and `SWITCHBOARD_NAME`. */
export const OPTIONS: readonly { name: string; path: string; kind: Kind; help: string }[] = [
  { name: 'host', path: 'host', kind: 'string', help: 'address to listen on (default 127.0.0.1)' },
  { name: 'port', path: 'port', kind: 'int', help: 'HTTP, WebSocket and SSE port (default 7070)' },
  {
    name: 'tcp-port',
    path: 'tcpPort',
    kind: 'int',
    help: 'raw TCP protocol port (default 7071; 0 = any free port, -1 = off)',
  },
  {
    name: 'data-dir',
    path: 'dataDir',
    kind: 'string',
    help: 'where the SQLite engine keeps its file (default ./data)',
  },
  {
    name: 'engine',
    path: 'engine',
    kind: 'string',
    help: 'sqlite (default), memory, redis://…, rediss://…, redis+sentinel://h:p,…/master, redis+cluster://h:p,…',
  },
  {
    name: 'redis-prefix',
    path: 'redisPrefix',
    kind: 'string',
    help: 'prefix of every Redis key (default switchboard:)',
  },
  {
    name: 'workers',
    path: 'workers',
    kind: 'int',
    help: 'processes sharing the port (default 1; more than 1 needs the Redis engine)',
  },
  {
    name: 'fsync',
    path: 'fsync',
    kind: 'string',
    help: 'always (default): ack after fsync; os: ack once written',
  },
  {
    name: 'log-level',
    path: 'logLevel',
    kind: 'string',
    help: 'fatal, error, warn, info (default), debug, trace, silent',
  },
  {
    name: 'idempotency-window-ms',
    path: 'idempotencyWindowMs',
    kind: 'int',
    help: 'how long Idempotency-Key is remembered (default 24 h)',
  },
  {
    name: 'shutdown-timeout-ms',
    path: 'shutdownTimeoutMs',
    kind: 'int',
    help: 'longest drain on SIGTERM (default 8000)',
  },
  { name: 'tls-cert', path: 'tls.cert', kind: 'string', help: 'PEM certificate file: serve TLS with HTTP/2' },
  { name: 'tls-key', path: 'tls.key', kind: 'string', help: 'PEM private key file for --tls-cert' },
  {
    name: 'trust-proxy',
    path: 'trustProxy',
    kind: 'string',
    help: 'proxies whose X-Forwarded-For names the client, for rate limits and logs: addresses or CIDRs, comma-separated (default: none)',
  },
  {
    name: 'web-root',
    path: 'webRoot',
    kind: 'string',
    help: 'a directory of static files to serve at / (default: none)',
  },
  {
    name: 'max-payload-bytes',
    path: 'limits.payloadBytes',
    kind: 'int',
    help: 'largest message payload (default 1 MiB)',
  },
  {
    name: 'max-batch-messages',
    path: 'limits.batchMessages',
    kind: 'int',
    help: 'most messages in a batch publish (default 1000)',
  },
  {
    name: 'max-batch-bytes',
    path: 'limits.batchBytes',
    kind: 'int',
    help: 'largest batch publish body (default 16 MiB)',
  },
  {
    name: 'max-header-bytes',
    path: 'limits.headerBytes',
    kind: 'int',
    help: 'largest request header block (default 16 KiB)',
  },
  {
    name: 'max-read-limit',
    path: 'limits.readLimit',
    kind: 'int',
    help: 'most messages one read returns (default 1000)',
  },
  {
    name: 'max-wait-seconds',
    path: 'limits.maxWaitSeconds',
    kind: 'number',
    help: 'longest long-poll wait (default 60)',
  },
  {
    name: 'max-long-polls',
    path: 'limits.maxLongPolls',
    kind: 'int',
    help: 'most long polls held at once (default 50000)',
  },
  {
    name: 'request-timeout-ms',
    path: 'limits.requestTimeoutMs',
    kind: 'int',
    help: 'time to receive a whole request (default 30000)',
  },
  {
    name: 'headers-timeout-ms',
    path: 'limits.headersTimeoutMs',
    kind: 'int',
    help: 'time to receive request headers (default 10000)',
  },
  {
    name: 'keep-alive-timeout-ms',
    path: 'limits.keepAliveTimeoutMs',
    kind: 'int',
    help: 'idle keep-alive connection lifetime (default 30000)',
  },
  {
    name: 'idle-timeout-ms',
    path: 'limits.idleTimeoutMs',
    kind: 'int',
    help: 'closes a silent connection (default 120000)',
  },
  {
    name: 'max-connections',
    path: 'limits.maxConnections',
    kind: 'int',
    help: 'most open connections (default 50000)',
  },
  {
    name: 'max-connections-per-client',
    path: 'limits.maxConnectionsPerClient',
    kind: 'int',
    help: 'most connections from one address (default 10000)',
  },
  {
    name: 'job-retention-ms',
    path: 'jobs.retentionMs',
    kind: 'int',
    help: 'how long a finished job and its result are kept (default 24 h)',
  },
  {
    name: 'job-backoff-base-ms',
    path: 'jobs.backoffBaseMs',
    kind: 'int',
    help: 'first retry delay ceiling; doubles per attempt, with jitter (default 1000)',
  },
  {
    name: 'job-backoff-max-ms',
    path: 'jobs.backoffMaxMs',
    kind: 'int',
    help: 'longest retry delay (default 300000)',
  },
  {
    name: 'max-subscriptions',
    path: 'limits.subscriptionsPerConnection',
    kind: 'int',
    help: 'most subscriptions on one SSE stream or WebSocket (default 1000)',
  },
  {
    name: 'push-buffer-bytes',
    path: 'limits.pushBufferBytes',
    kind: 'int',
    help: 'unsent bytes a push connection may hold before it reads from the log instead (default 1 MiB)',
  },
  {
    name: 'slow-consumer-ms',
    path: 'limits.slowConsumerMs',
    kind: 'int',
    help: 'how long a push connection may stay congested before it is closed (default 30000)',
  },
  {
    name: 'presence-ttl-ms',
    path: 'push.presenceTtlMs',
    kind: 'int',
    help: 'on Redis, how soon the clients of a node that died leave presence (default 30000)',
  },
  {
    name: 'ws-compression',
    path: 'push.compression',
    kind: 'boolean',
    help: 'permessage-deflate on WebSocket: true or false (default false)',
  },
  {
    name: 'rate-per-second',
    path: 'limits.ratePerSecond',
    kind: 'int',
    help: 'HTTP requests per second per client address, 0 = off (default 10000)',
  },
  {
    name: 'rate-burst',
    path: 'limits.rateBurst',
    kind: 'int',
    help: 'HTTP requests a client address may send at once above its rate (default: one second of rate)',
  },
  {
    name: 'frame-rate-per-second',
    path: 'limits.frameRatePerSecond',
    kind: 'int',
    help: 'frames per second per WebSocket or TCP connection, 0 = off; bursts of one second (default 10000)',
  },
]

export function envName(name: string): string {
  return `SWITCHBOARD_${name.toUpperCase().replaceAll('-', '_')}`
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

export interface ConfigSources {
  /** Values from flags, by option name (`max-payload-bytes`). */
  readonly flags?: Readonly<Record<string, string | undefined>>
  readonly env?: Readonly<Record<string, string | undefined>>
  /** A JSON file with the same shape as `Config`. */
  readonly file?: string
  /** Settings given as an object (embedding, tests); flags and env override them. */
  readonly overrides?: ConfigInput
}

/** Builds the configuration: defaults < file < overrides < environment < flags, validated as a whole. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const raw: Record<string, unknown> = {}
  const problems: string[] = []
  const file = sources.file ?? sources.env?.SWITCHBOARD_CONFIG
  if (file) deepMerge(raw, readConfigFile(file))
  if (sources.overrides) deepMerge(raw, sources.overrides as Record<string, unknown>)
  for (const option of OPTIONS) {
    const fromEnv = sources.env?.[envName(option.name)]
    const fromFlag = sources.flags?.[option.name]
    for (const [value, origin] of [
      [fromEnv, envName(option.name)],
      [fromFlag, `--${option.name}`],
    ] as const) {
      if (value === undefined) continue
      const parsed = parseValue(value, option.kind)
      if (parsed === undefined)
        problems.push(`${origin}: expected ${describe(option.kind)}, got ${JSON.stringify(value)}`)
      else setPath(raw, option.path, parsed)
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)
  const result = configSchema.safeParse(raw)
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${where(issue.path)}: ${issue.message}`))
  }
  return result.data
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value)
    return protocol === 'http:' || protocol === 'https:'
  } catch {
    return false
  }
}

function where(path: readonly PropertyKey[]): string {
  const dotted = path.map(String).join('.')
  const option = OPTIONS.find((o) => o.path === dotted)
  return option ? `${dotted} (--${option.name}, ${envName(option.name)})` : dotted || '(root)'
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError([`config file ${file}: ${(error as Error).message}`])
  }
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error('not a JSON object')
    return value as Record<string, unknown>
  } catch (error) {
    throw new ConfigError([`config file ${file}: ${(error as Error).message}`])
  }
}

function parseValue(value: string, kind: Kind): unknown {
  if (kind === 'string') return value
  const trimmed = value.trim()
  if (kind === 'boolean') return trimmed === 'true' ? true : trimmed === 'false' ? false : undefined
  if (kind === 'int') return /^-?\d+$/.test(trimmed) ? Number(trimmed) : undefined
  return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : undefined
}

function describe(kind: Kind): string {
  return kind === 'int'
    ? 'an integer'
    : kind === 'number'
      ? 'a number'
      : kind === 'boolean'
        ? 'true or false'
        : 'a string'
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.')
  let node = target
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {}
    node = node[key] as Record<string, unknown>
  }
  node[keys[keys.length - 1]] = value
}

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key]
    if (isPlainObject(value) && isPlainObject(current)) deepMerge(current, value)
    else target[key] = isPlainObject(value) ? structuredClone(value) : value
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
