import { writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Engine, Notifier } from '@flexsecure/core'
import { databaseKind, type ServerConfig } from './config.js'
import type { ConfigFile } from './config-file.js'
import { consoleHint } from './console-admin-command.js'
import { FILE_MODE, prepareDataDirectory } from './data-directory.js'
import { deliveryFor } from './delivery.js'
import { bootstrap, type FirstRun, howToCall } from './first-run.js'
import { redactUrl } from './redaction.js'
import { startServer } from './server.js'

/** Whether the first run's `demo` system is there for the banner's commands (a database made by `init` has none). */
async function hasDemoSystem(engine: Engine): Promise<boolean> {
  const [account] = await engine.accounts.list()
  return account ? (await engine.account(account.id).systems.get('demo')) !== null : false
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i

/** Where production mode writes the first run's keys. */
function credentialsPath(config: ServerConfig): string {
  if (config.credentialsFile) return config.credentialsFile
  return databaseKind(config.database) === 'sqlite'
    ? join(dirname(config.database), 'first-run-credentials')
    : resolve('flexsecure-first-run-credentials')
}

/** S32: the keys into a new 0600 file (never over an existing one), and only its path on the output. */
function writeCredentials(path: string, first: FirstRun): string {
  const text = `# FlexSecure first run: store these keys, then delete this file.\naccount: ${first.accountId}\nadmin key: ${first.adminKey}\nauth key: ${first.authKey}\n`
  try {
    writeFileSync(path, text, { mode: FILE_MODE, flag: 'wx' })
    return path
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error
    // An older run's file: keep it, and these keys beside it rather than lose them.
    const beside = `${path}.${first.accountId}`
    writeFileSync(beside, text, { mode: FILE_MODE, flag: 'wx' })
    return beside
  }
}

/**
 * A warning when links would point at localhost while the server listens on another address: a user
 * on another machine could not open them.
 */
export function baseUrlWarning(config: ServerConfig, port: number): string | null {
  const base = new URL(config.baseUrl ?? `http://localhost:${port}`)
  const host = base.hostname.replace(/^\[|\]$/g, '')
  if (!LOOPBACK.test(host) || LOOPBACK.test(config.host)) return null
  return `WARNING: links point at ${base.origin} but the server listens on ${config.host}: set FLEXSECURE_BASE_URL to the address users reach (https://auth.example.com).`
}

/** `flexsecure serve`: resolves once the server listens; SIGTERM and SIGINT stop it gracefully. */
export async function serve(
  config: ServerConfig,
  file: ConfigFile,
  say: (line: string) => void,
): Promise<void> {
  if (config.production) say('Production mode.')
  // This process renders no JSX but the console's: without this, its first page would turn on promise
  // hooks for the process, and every API request would run them from then on (jsx-async-context.ts in
  // @flexsecure/console). startServer leaves the choice to a host that embeds it.
  const { renderJsxWithoutAsyncContext } = await import('@flexsecure/console')
  if (!renderJsxWithoutAsyncContext())
    say(
      'WARNING: hono/jsx rendered before the server started; console pages may slow every request (promise hooks).',
    )
  const notifier: Notifier = file.notifier ?? deliveryFor(config, say)
  if (file.notifier) say('Messages go out through the notifier of the config module.')
  if (!file.storage) prepareDataDirectory(config, say)
  if (config.secretSource === 'generated file' && config.secretFile)
    say(`Generated a secret in ${config.secretFile}; set FLEXSECURE_SECRET to manage it yourself.`)
  const server = await startServer(config, notifier, {}, file.storage)
  const port = Number(new URL(server.url).port)
  const warning = baseUrlWarning(config, port)
  if (warning) say(warning)
  const first = await bootstrap(server.engine)
  const where = file.storage ? 'the config module’s storage' : `database ${redactUrl(config.database)}`
  say(`FlexSecure is listening on ${server.url} (${where})`)
  say(consoleHint(config.baseUrl ?? server.url))
  const delivery = config.smtpUrl ? 'emailed' : config.twilio || config.smsWebhook ? 'sms only' : 'printed'
  if (first && config.production) {
    const path = writeCredentials(credentialsPath(config), first)
    say(
      `First run: created account Default (${first.accountId}); its admin and auth keys are in ${path} (mode 600).`,
    )
    say(howToCall(server.url, null, delivery))
  } else if (first || (await hasDemoSystem(server.engine))) say(howToCall(server.url, first, delivery))
  else
    say(
      'Try a login: make a system, a user and an assignment (flexsecure systems create, users create, assign, or the console), then POST /v1/start with its system and authid.',
    )

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) {
      say('Second signal: exiting now.')
      process.exit(1)
    }
    stopping = true
    say(`${signal}: finishing in-flight requests, then closing the database.`)
    server.close().then(
      () => {
        say('Stopped.')
        process.exit(0)
      },
      (error) => {
        console.error('Shutdown failed:', (error as Error)?.message)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}
