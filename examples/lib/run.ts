import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ConfigInput, loadConfig } from '../../src/config.js'
import { type RunningServer, startServer } from '../../src/server.js'

/** The project root, from examples/lib (sources) or dist/examples/lib (built). */
function projectRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  return here.includes(`${join('dist', 'examples')}`) ? join(here, '..', '..', '..') : join(here, '..', '..')
}

/**
 * Starts Switchboard for an example: its page from examples/<name>/public at `/`, the browser SDK
 * at `/sdk/switchboard.js`, SQLite in data/examples/<name> (or DATA_DIR). PORT picks the port
 * (default 7080).
 */
export async function runExample(name: string, overrides: ConfigInput = {}): Promise<RunningServer> {
  const root = projectRoot()
  const config = loadConfig({
    overrides: {
      port: Number(process.env.PORT ?? 7080),
      tcpPort: -1,
      dataDir: process.env.DATA_DIR ?? join(root, 'data', 'examples', name),
      logLevel: 'warn',
      ...overrides,
      webRoot: join(root, 'examples', name, 'public'),
    },
  })
  const server = await startServer(config)
  process.stdout.write(`${name}: open ${server.url}/ (Ctrl-C stops)\n`)
  const stop = () => server.close().then(() => process.exit(0))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return server
}
