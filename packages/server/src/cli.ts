#!/usr/bin/env node
// The `flexsecure` command: serve, init, migrate, keys create|list|revoke, audit verify.
import { parseArgs } from 'node:util'
import { createEngine, DeliveryError, type Engine, type Notifier, SCOPES, type Scope } from '@flexsecure/core'
import { twilioNotifier } from '@flexsecure/sms'
import { smtpNotifier } from '@flexsecure/smtp'
import { ConfigError, loadConfig, type ServerConfig } from './config.js'
import { CONSOLE_ADMIN_USAGE, consoleHint, grantConsoleAdmin } from './console-admin-command.js'
import { consoleNotifier } from './dev-notifier.js'
import { bootstrap, howToCall } from './first-run.js'
import { openStorage, startServer } from './server.js'

const USAGE = `usage: flexsecure <command> [options]

  serve                          run the HTTP API (creates the database, and on first run an account and keys)
  init [--name NAME] [--admin-email ADDRESS]
                                 create an account; print its admin and auth keys once; with
                                 --admin-email, its first console administrator
${CONSOLE_ADMIN_USAGE}
  migrate                        create or upgrade the database schema
  keys create --name N [--scopes auth,admin] [--account ID]
  keys list [--account ID]
  keys revoke --id KEY_ID [--account ID]
  audit verify [--account ID]    exit 1 if an account's audit chain is broken

Configuration comes from the environment (FLEXSECURE_DB, FLEXSECURE_PORT, …; see the README).`

class UsageError extends Error {}

/** An engine for the one-shot commands; they send nothing, so the notifier only refuses. */
function openEngine(config: ServerConfig): Engine {
  return createEngine({
    storage: openStorage(config.database),
    notifier: { send: async () => Promise.reject(new Error('the CLI sends no messages')) },
    secret: config.secret,
    links: { baseUrl: config.baseUrl ?? 'http://localhost' },
  })
}

/** Where the console is: the configured base URL, else the address the server listens on by default. */
const consoleUrl = (config: ServerConfig) =>
  `${config.baseUrl ?? `http://${config.host}:${config.port}`}/console`

/** `--account`, or the only account there is. */
async function pickAccount(engine: Engine, given: string | undefined): Promise<string> {
  if (given) return given
  const accounts = await engine.accounts.list()
  if (accounts.length === 1) return (accounts[0] as { id: string }).id
  throw new UsageError(
    accounts.length === 0 ? 'no account yet: run `flexsecure init`' : 'several accounts: pass --account ID',
  )
}

async function serve(config: ServerConfig): Promise<void> {
  const notifier = deliveryFor(config)
  if (config.secretSource === 'generated file')
    console.log(
      `Generated a secret in ${config.database.replace(/[^/\\]+$/, 'secret')}; set FLEXSECURE_SECRET to manage it yourself.`,
    )
  const server = await startServer(config, notifier)
  const first = await bootstrap(server.engine)
  console.log(`FlexSecure is listening on ${server.url} (database ${config.database})`)
  console.log(consoleHint(config.baseUrl ?? server.url))
  console.log(
    howToCall(server.url, first, config.smtpUrl ? 'emailed' : config.twilio ? 'sms only' : 'printed'),
  )
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) {
      console.log('Second signal: exiting now.')
      process.exit(1)
    }
    stopping = true
    console.log(`${signal}: finishing in-flight requests, then closing the database.`)
    server.close().then(
      () => {
        console.log('Stopped.')
        process.exit(0)
      },
      (error) => {
        console.error('Shutdown failed:', error)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

/**
 * Email through SMTP when FLEXSECURE_SMTP_URL is set and SMS through Twilio when FLEXSECURE_TWILIO_*
 * is; a channel without a provider fails as permanent (and is audited). With neither configured the
 * development notifier prints every message, and says so.
 */
function deliveryFor(config: ServerConfig): Notifier {
  if (!config.smtpUrl && !config.twilio) {
    console.log(
      'WARNING: no SMTP or SMS is configured. Messages (links and PINs) are PRINTED HERE, not delivered.',
    )
    console.log('         This is for development only.')
    return consoleNotifier()
  }
  const missing = (channel: string): Notifier => ({
    send: () => Promise.reject(new DeliveryError('permanent', `no ${channel} provider is configured`)),
  })
  let email = missing('email')
  let sms = missing('SMS')
  if (config.smtpUrl) {
    email = smtpNotifier({ transport: config.smtpUrl, from: config.mailFrom })
    const url = new URL(config.smtpUrl)
    console.log(
      `Email goes out through SMTP at ${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)} as ${config.mailFrom}.`,
    )
  }
  if (config.twilio) {
    const { accountSid, authToken, from, messagingServiceSid, baseUrl } = config.twilio
    sms = twilioNotifier({
      accountSid,
      authToken,
      ...(from ? { from } : {}),
      ...(messagingServiceSid ? { messagingServiceSid } : {}),
      ...(baseUrl ? { baseUrl } : {}),
    })
    console.log(`SMS goes out through Twilio (account ${accountSid.slice(0, 6)}…).`)
  }
  return { send: (message) => (message.channel === 'email' ? email : sms).send(message) }
}

export async function main(argv: string[]): Promise<number> {
  const [command, sub] = argv
  const { values } = parseArgs({
    args: argv.slice(command === 'keys' || command === 'audit' ? 2 : 1),
    options: {
      name: { type: 'string' },
      scopes: { type: 'string' },
      account: { type: 'string' },
      id: { type: 'string' },
      'admin-email': { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (!command || values.help) {
    console.log(USAGE)
    return command ? 0 : 2
  }
  const config = loadConfig()
  if (command === 'serve') {
    await serve(config)
    return -1
  }
  const engine = openEngine(config)
  try {
    await engine.migrate()
    if (command === 'migrate') {
      console.log(`Database ${config.database} is up to date.`)
      return 0
    }
    if (command === 'init') {
      const account = await engine.accounts.create({ name: values.name ?? 'Default' })
      const handle = engine.account(account.id, { actor: 'cli' })
      const admin = await handle.apiKeys.create({ name: 'admin (init)', scopes: ['admin', 'auth'] })
      const auth = await handle.apiKeys.create({ name: 'auth (init)', scopes: ['auth'] })
      console.log(
        `account ${account.name}: ${account.id}\nadmin key: ${admin.key}\nauth key:  ${auth.key}\nThese keys are shown once.`,
      )
      if (values['admin-email'])
        console.log(await grantConsoleAdmin(handle, { email: values['admin-email'] }, consoleUrl(config)))
      return 0
    }
    if (command === 'console-admin') {
      const account = engine.account(await pickAccount(engine, values.account), { actor: 'cli' })
      console.log(await grantConsoleAdmin(account, values, consoleUrl(config)))
      return 0
    }
    if (command === 'keys') {
      const account = engine.account(await pickAccount(engine, values.account), { actor: 'cli' })
      if (sub === 'create') {
        if (!values.name) throw new UsageError('keys create needs --name')
        const scopes = (values.scopes ?? 'auth').split(',').map((s) => s.trim())
        if (scopes.some((s) => !SCOPES.includes(s as Scope)))
          throw new UsageError(`--scopes takes ${SCOPES.join(',')}`)
        const created = await account.apiKeys.create({ name: values.name, scopes: scopes as Scope[] })
        console.log(`${created.key}\n(id ${created.id}; shown once)`)
        return 0
      }
      if (sub === 'list') {
        for (const key of await account.apiKeys.list())
          console.log(
            [
              key.id,
              key.prefix,
              key.name,
              key.scopes.join(','),
              key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'live',
            ].join('\t'),
          )
        return 0
      }
      if (sub === 'revoke') {
        if (!values.id) throw new UsageError('keys revoke needs --id')
        const revoked = await account.apiKeys.revoke(values.id)
        console.log(revoked ? `revoked ${values.id}` : `no live key ${values.id}`)
        return revoked ? 0 : 1
      }
      throw new UsageError('keys takes create, list or revoke')
    }
    if (command === 'audit' && sub === 'verify') {
      const ids = values.account ? [values.account] : (await engine.accounts.list()).map((a) => a.id)
      let broken = 0
      for (const id of ids) {
        const verdict = await engine.account(id).audit.verify()
        if (verdict.ok) console.log(`${id}: ok, ${verdict.events} events up to #${verdict.lastSeq}`)
        else {
          broken += 1
          console.log(`${id}: BROKEN at #${verdict.firstBadSeq}: ${verdict.problem}`)
        }
      }
      return broken ? 1 : 0
    }
    throw new UsageError(`unknown command: ${argv.join(' ')}`)
  } finally {
    await engine.close()
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code
  },
  (error) => {
    if (
      error instanceof UsageError ||
      error instanceof ConfigError ||
      (error as Error)?.name === 'TypeError'
    ) {
      console.error(`flexsecure: ${(error as Error).message}\n\n${USAGE}`)
      process.exitCode = 2
    } else {
      console.error('flexsecure:', error)
      process.exitCode = 1
    }
  },
)
