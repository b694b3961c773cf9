import { type ServerProcess, spawnServer } from '../../test/helpers/process.js'

/**
 * A Switchboard server in its own process for a benchmark: as configured by `args`, with the rate
 * limits off, since a benchmark loads one server from one address far above them.
 */
export function benchServer(args: string[]): Promise<ServerProcess> {
  return spawnServer(['--rate-per-second', '0', '--frame-rate-per-second', '0', ...args])
}
