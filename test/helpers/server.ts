import { rmSync } from 'node:fs'
import { type ConfigInput, loadConfig } from '../../src/config.js'
import { type RunningServer, startServer } from '../../src/server.js'
import { tempDir } from './tmp.js'

export interface TestServer extends RunningServer {
  /** The data directory (SQLite), removed by `stop`. */
  readonly dataDir: string
  /** Closes the server and removes its data directory. */
  stop(): Promise<void>
  /** Closes the server and starts a new one on the same data directory and settings. */
  restart(): Promise<TestServer>
}

/**
 * A real server on 127.0.0.1 and an ephemeral port, in this process, on a fresh SQLite file
 * unless `engine: 'memory'` is given. Logs are silent.
 */
export async function startTestServer(overrides: ConfigInput = {}, dataDir?: string): Promise<TestServer> {
  const dir = dataDir
    ? { path: dataDir, remove: () => rmSync(dataDir, { recursive: true, force: true }) }
    : tempDir()
  const config = loadConfig({
    overrides: {
      host: '127.0.0.1',
      port: 0,
      tcpPort: 0,
      logLevel: 'silent',
      ...overrides,
      dataDir: dir.path,
    },
  })
  const server = await startServer(config)
  return {
    ...server,
    dataDir: dir.path,
    async stop() {
      await server.close()
      dir.remove()
    },
    async restart() {
      await server.close()
      return startTestServer(overrides, dir.path)
    },
  }
}
