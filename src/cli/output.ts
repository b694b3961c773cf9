import {
  ConnectionError,
  InvalidRequestError,
  JobCancelledError,
  JobFailedError,
  NotFoundError,
  SwitchboardError,
  TimeoutError,
} from '../../client/errors.js'

/** Exit codes scripts can rely on (documented in docs/cli.md). */
export const EXIT = {
  ok: 0,
  /** The operation ran and failed: a job failed or was cancelled, a worker error, a server error. */
  failed: 1,
  /** Bad command line or a request the server refused as invalid. */
  usage: 2,
  /** The server could not be reached. */
  unreachable: 3,
  notFound: 4,
  timeout: 5,
} as const

export function exitCodeOf(error: unknown): number {
  if (error instanceof ConnectionError) return EXIT.unreachable
  if (error instanceof NotFoundError) return EXIT.notFound
  if (error instanceof TimeoutError) return EXIT.timeout
  if (error instanceof InvalidRequestError) return EXIT.usage
  if (error instanceof JobFailedError || error instanceof JobCancelledError) return EXIT.failed
  return EXIT.failed
}

/** Ends the process with a one-line message on stderr and the exit code of the error. */
export function fail(error: unknown): never {
  const message =
    error instanceof SwitchboardError
      ? `${error.message} (${error.code})`
      : error instanceof Error
        ? error.message
        : String(error)
  process.stderr.write(`switchboard: ${paint('red', message.split('\n')[0])}\n`)
  process.exit(exitCodeOf(error))
}

const COLOURS = { red: 31, green: 32, yellow: 33, dim: 2, cyan: 36 } as const

/** Colour only on a terminal, and never when NO_COLOR is set. */
export function paint(
  colour: keyof typeof COLOURS,
  text: string,
  stream: NodeJS.WriteStream = process.stderr,
): string {
  if (!stream.isTTY || process.env.NO_COLOR) return text
  return `\x1b[${COLOURS[colour]}m${text}\x1b[0m`
}

/** Text for stdout: strings as they are, anything else as compact JSON. */
export function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** A command-line value as data: JSON when it parses as JSON, else the text itself. */
export function parseData(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** The data argument, or stdin when it is absent or `-`. */
export async function dataArgument(text: string | undefined): Promise<unknown> {
  if (text !== undefined && text !== '-') return parseData(text)
  if (process.stdin.isTTY) return null
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return parseData(Buffer.concat(chunks).toString('utf8').replace(/\n$/, ''))
}

/** A progress bar on stderr, drawn only on a terminal. */
export class ProgressBar {
  readonly #stream = process.stderr
  #drawn = false

  get visible(): boolean {
    return this.#stream.isTTY === true
  }

  update(progress: unknown, label = ''): void {
    if (!this.visible) return
    const percent = percentOf(progress)
    const width = 30
    const filled = percent === undefined ? 0 : Math.round((percent / 100) * width)
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
    const figure = percent === undefined ? show(progress) : `${percent.toFixed(0)}%`
    this.#stream.write(`\r${paint('cyan', bar)} ${figure} ${label}\x1b[K`)
    this.#drawn = true
  }

  done(): void {
    if (this.#drawn) this.#stream.write('\n')
    this.#drawn = false
  }
}

/** A progress value as a percentage: a fraction ≤ 1, a number of percent, or `{percent}`. */
export function percentOf(progress: unknown): number | undefined {
  const value =
    typeof progress === 'number'
      ? progress
      : typeof progress === 'object' && progress !== null && 'percent' in progress
        ? Number((progress as { percent: unknown }).percent)
        : undefined
  if (value === undefined || !Number.isFinite(value)) return undefined
  return Math.max(0, Math.min(100, value <= 1 && typeof progress === 'number' ? value * 100 : value))
}
