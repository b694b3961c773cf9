import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'

type LogArgs = Parameters<FastifyBaseLogger['info']>
type ChildArgs = Parameters<FastifyBaseLogger['child']>

/**
 * A request's logger that makes pino's child logger (bound to the request id) only when the request
 * logs something. Most requests log nothing; a child costs a dozen bound methods, and a long-lived
 * request (an SSE stream, a held long poll) would keep them for its whole life.
 */
class LazyRequestLogger {
  readonly #parent: FastifyBaseLogger
  readonly #bindings: ChildArgs[0]
  readonly #options: ChildArgs[1]
  #child: FastifyBaseLogger | undefined

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

  fatal(...args: LogArgs): void {
    this.#real().fatal(...args)
  }

  error(...args: LogArgs): void {
    this.#real().error(...args)
  }

  warn(...args: LogArgs): void {
    this.#real().warn(...args)
  }

  info(...args: LogArgs): void {
    this.#real().info(...args)
  }

  debug(...args: LogArgs): void {
    this.#real().debug(...args)
  }

  trace(...args: LogArgs): void {
    this.#real().trace(...args)
  }

  silent(...args: LogArgs): void {
    this.#real().silent(...args)
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
