import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'

type ChildArgs = Parameters<FastifyBaseLogger['child']>
type LogFn = FastifyBaseLogger['info']

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * A request's logger that makes pino's child logger (bound to the request id) only when the request
 * logs something. Most requests log nothing; a child costs a dozen bound methods, and a long-lived
 * request (an SSE stream, a held long poll) would keep them for its whole life.
 */
class LazyRequestLogger {
  // One method per level, on the prototype (see the static block).
  declare fatal: LogFn
  declare error: LogFn
  declare warn: LogFn
  declare info: LogFn
  declare debug: LogFn
  declare trace: LogFn
  declare silent: LogFn

  readonly #parent: FastifyBaseLogger
  readonly #bindings: ChildArgs[0]
  readonly #options: ChildArgs[1]
  #child: FastifyBaseLogger | undefined

  static {
    for (const level of LEVELS)
      LazyRequestLogger.prototype[level] = function (this: LazyRequestLogger, ...args: unknown[]) {
        ;(this.#real()[level] as (...a: unknown[]) => void)(...args)
      }
  }

  constructor(parent: FastifyBaseLogger, bindings: ChildArgs[0], options: ChildArgs[1]) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  get level(): string {
    return (this.#child ?? this.#parent).level
  }

  set level(level: string) {
    this.#real().level = level
  }

  child(...args: ChildArgs): FastifyBaseLogger {
    return this.#real().child(...args)
  }

  #real(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }
}

/** Fastify's `childLoggerFactory`: request loggers made on first use. */
export const lazyRequestLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (
  logger,
  bindings,
  options,
) => new LazyRequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger
