#!/usr/bin/env node
import cluster from 'node:cluster'
import { Command, Option } from 'commander'
import { benchCommand } from './cli/bench.js'
import { channelCommands } from './cli/channels.js'
import { jobCommands } from './cli/jobs.js'
import { EXIT } from './cli/output.js'
import { workerCommand } from './cli/worker.js'
import { runPrimary, workersRefusal } from './cli/workers.js'
import { ConfigError, envName, loadConfig, OPTIONS } from './config.js'
import { startServer } from './server.js'

const program = new Command()
  .name('switchboard')
  .description('Self-hostable backend communication server')
  .showHelpAfterError()
  .exitOverride((error) => process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage))

const serve = program
  .command('serve')
  .description('run the server (HTTP/1.1 and h2c on --port; SQLite in --data-dir by default)')
  .option('-c, --config <file>', 'JSON configuration file (also SWITCHBOARD_CONFIG)')
for (const option of OPTIONS) {
  serve.addOption(new Option(`--${option.name} <value>`, `${option.help} [${envName(option.name)}]`))
}

serve.action(async (opts: Record<string, string | undefined>) => {
  const flags = Object.fromEntries(OPTIONS.map((o) => [o.name, opts[camel(o.name)]]))
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig({ flags, env: process.env, file: opts.config })
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`switchboard: ${error.message}\n`)
      process.exit(2)
    }
    throw error
  }
  const refusal = workersRefusal(config)
  if (refusal) {
    process.stderr.write(`switchboard: ${refusal}\n`)
    process.exit(2)
  }
  if (config.workers > 1 && cluster.isPrimary) {
    runPrimary(config)
    return
  }
  const server = await startServer(config).catch((error: Error) => {
    process.stderr.write(`switchboard: cannot start: ${error.message}\n`)
    process.exit(1)
  })
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    server.http.log.info({ signal }, 'draining')
    server.close().then(
      () => process.exit(0),
      (error: Error) => {
        process.stderr.write(`switchboard: shutdown failed: ${error.message}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
})

channelCommands(program)
jobCommands(program)
workerCommand(program)
benchCommand(program)

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

await program.parseAsync(process.argv)
