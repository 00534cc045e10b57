#!/usr/bin/env node
// The `flexsecure` command. Help is answered before anything is read or opened; every other command
// loads the configuration, and only serve, migrate and init create or migrate a database.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { createEngine, type Engine, secretFingerprint } from '@flexsecure/core'
import { OPERATOR_KEY_PREFIX } from '@flexsecure/http'
import { checkpointFiles } from './audit-checkpoint-files.js'
import { type CommandLine, parseCommandLine, UsageError } from './cli-args.js'
import {
  accountsCommand,
  assignCommand,
  auditCommand,
  CommandFailed,
  keysCommand,
  type Print,
  pickAccount,
  settingsCommand,
  systemsCommand,
  usersCommand,
} from './cli-commands.js'
import { USAGE } from './cli-usage.js'
import { ConfigError, databaseKind, loadConfig, type ServerConfig } from './config.js'
import { type ConfigFile, readConfigFile } from './config-file.js'
import { consoleUrl, grantConsoleAdmin } from './console-admin-command.js'
import { prepareDataDirectory } from './data-directory.js'
import { redactUrl } from './redaction.js'
import { serve } from './serve-command.js'
import { openStorage, type ServerStorage } from './server.js'
import { describeStartupError } from './startup-errors.js'

const COMMANDS = {
  accounts: accountsCommand,
  systems: systemsCommand,
  users: usersCommand,
  assign: assignCommand,
  keys: keysCommand,
  audit: auditCommand,
  settings: settingsCommand,
} as const

/** An engine for the one-shot commands; they send nothing, so the notifier only refuses. */
function engineOn(config: ServerConfig, storage: ServerStorage): Engine {
  return createEngine({
    storage,
    notifier: { send: async () => Promise.reject(new Error('the CLI sends no messages')) },
    secret: config.secret,
    previousSecrets: config.previousSecrets ?? [],
    ...(config.auditCheckpoints ? { checkpoints: checkpointFiles(config.auditCheckpoints) } : {}),
    ...(config.ceilings ? { ceilings: config.ceilings } : {}),
    links: { baseUrl: config.baseUrl ?? 'http://localhost' },
    // A one-shot command must not retry deliveries or sweep behind the operator's back; `serve` does.
    background: false,
  })
}

/** Runs `flexsecure …`; resolves with the exit code, or -1 while `serve` keeps running. */
export async function main(
  argv: readonly string[],
  print: Print,
  say: (line: string) => void,
): Promise<number> {
  const line = parseCommandLine(argv)
  if (line.flags.has('version')) {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    say(`flexsecure ${manifest.version}`)
    return 0
  }
  if (!line.command || line.flags.has('help')) {
    say(USAGE[line.command] ?? USAGE[''] ?? '')
    return line.command || line.flags.has('help') ? 0 : 2
  }
  if (line.command === 'operator-key') {
    const key = `${OPERATOR_KEY_PREFIX}${randomBytes(32).toString('base64url')}`
    const sha256 = createHash('sha256').update(key).digest('hex')
    print({ key, sha256 }, [
      `operator key: ${key}`,
      `FLEXSECURE_OPERATOR_KEY_SHA256=${sha256}`,
      'Keep the key; configure only the digest.',
    ])
    return 0
  }
  const configPath = line.options.config ?? process.env.FLEXSECURE_CONFIG
  const file: ConfigFile = configPath ? await readConfigFile(configPath) : { values: {} }
  const config = loadConfig(process.env, file.values, { production: line.flags.has('production') })
  try {
    return await run(line, config, file, print, say)
  } catch (error) {
    // Port in use, database unreachable, not a database, unwritable folder: one line that says what to do.
    const known = describeStartupError(error, config)
    throw known ? new CommandFailed(known) : error
  }
}

async function run(
  line: CommandLine,
  config: ServerConfig,
  file: ConfigFile,
  print: Print,
  say: (line: string) => void,
) {
  if (line.command === 'serve') {
    await serve(config, file, say)
    return -1
  }
  const creates = line.command === 'migrate' || line.command === 'init'
  if (!file.storage && databaseKind(config.database) === 'sqlite') {
    if (creates) prepareDataDirectory(config, say)
    else if (!existsSync(config.database))
      throw new CommandFailed(
        `no database at ${config.database}: run \`flexsecure migrate\` (or serve) first`,
      )
  }
  const storage: ServerStorage = file.storage ?? openStorage(config.database)
  const engine = engineOn(config, storage)
  let failed = false
  try {
    if (creates) await engine.migrate()
    else if (storage.migrationStatus) {
      const { pending } = await storage.migrationStatus()
      if (pending.length)
        throw new CommandFailed(
          `the database needs migrating (${pending.join(', ')}): run \`flexsecure migrate\` first`,
        )
    }
    if (line.command === 'secret') return await secretCommand(engine, storage, config, line, print)
    // S33: a command with another secret would write audit events no verification accepts.
    if (!creates) await engine.checkSecret()
    if (line.command === 'migrate') {
      print(
        { database: redactUrl(config.database), current: true },
        `Database ${redactUrl(config.database)} is up to date.`,
      )
      return 0
    }
    if (line.command === 'init') {
      const account = await engine.accounts.create({ name: line.options.name ?? 'Default' })
      const handle = engine.account(account.id, { actor: 'cli' })
      const admin = await handle.apiKeys.create({ name: 'admin (init)', scopes: ['admin', 'auth'] })
      const auth = await handle.apiKeys.create({ name: 'auth (init)', scopes: ['auth'] })
      print(
        { ...account, adminKey: admin.key, authKey: auth.key },
        `account ${account.name}: ${account.id}\nadmin key: ${admin.key}\nauth key:  ${auth.key}\nThese keys are shown once.`,
      )
      const adminEmail = line.options['admin-email']
      if (adminEmail) say((await grantConsoleAdmin(handle, { email: adminEmail }, consoleUrl(config))).text)
      return 0
    }
    if (line.command === 'console-admin') {
      const account = engine.account(await pickAccount(engine, line.options.account), { actor: 'cli' })
      const granted = await grantConsoleAdmin(account, line.options, consoleUrl(config))
      print(granted.value, granted.text)
      return 0
    }
    return await COMMANDS[line.command as keyof typeof COMMANDS](engine, line, print)
  } catch (error) {
    failed = true
    throw error
  } finally {
    // The command's own error is the one to report; a close that fails after it (its last sync) is told.
    if (failed)
      await engine
        .close()
        .catch((error) =>
          console.error('[flexsecure] closing the database failed too:', (error as Error)?.message),
        )
    else await engine.close()
  }
}

/**
 * `flexsecure secret fingerprint | rotate` (S33). `rotate` runs with the new secret in FLEXSECURE_SECRET and
 * the old one in FLEXSECURE_PREVIOUS_SECRETS: it records the new fingerprint, re-seals waiting payloads and
 * audits the rotation in every account. A server started with that keyring does the same on its own.
 */
async function secretCommand(
  engine: Engine,
  storage: ServerStorage,
  config: ServerConfig,
  line: CommandLine,
  print: Print,
): Promise<number> {
  const sub = line.positionals[0]
  const configured = secretFingerprint(config.secret)
  if (sub === 'fingerprint') {
    const stored = (await storage.secretStore?.readFingerprint()) ?? null
    const previous = (config.previousSecrets ?? []).map(secretFingerprint)
    print({ configured, previous, stored, matches: stored === null || stored === configured }, [
      `FLEXSECURE_SECRET:           ${configured}`,
      ...previous.map((fp) => `FLEXSECURE_PREVIOUS_SECRETS: ${fp}`),
      `the database:                ${stored ?? 'none yet (set on the next start)'}`,
    ])
    return stored === null || stored === configured || previous.includes(stored) ? 0 : 1
  }
  if (sub === 'rotate') {
    const rotated = await engine.rotateSecret()
    const done = rotated ?? { resealed: 0, accounts: 0 }
    print({ fingerprint: configured, ...done, rotatedByAnother: rotated === null }, [
      rotated === null
        ? `Another process rotated to ${configured} first.`
        : done.accounts === 0 && done.resealed === 0
          ? `The database already uses ${configured}.`
          : `The database now uses ${configured}: ${done.resealed} waiting message(s) re-sealed, the rotation audited in ${done.accounts} account(s).`,
      'Keep the old secret in FLEXSECURE_PREVIOUS_SECRETS while audit events it sealed are kept (docs/operations.md).',
    ])
    return 0
  }
  throw new UsageError('usage: flexsecure secret fingerprint | rotate')
}

/** Turns any failure into one line on stderr and an exit code: 2 for usage and configuration, else 1. */
export function exitCodeFor(error: unknown, argv: readonly string[]): number {
  const e = error as Error & { field?: string }
  if (error instanceof UsageError) {
    const command = argv[0] && USAGE[argv[0]] ? argv[0] : ''
    console.error(`flexsecure: ${e.message}\n\n${USAGE[command]}`)
    return 2
  }
  if (error instanceof ConfigError) {
    console.error(`flexsecure: ${e.message}`)
    return 2
  }
  if (
    error instanceof CommandFailed ||
    ['ValidationError', 'ConflictError', 'NotFoundError'].includes(e?.name)
  ) {
    console.error(`flexsecure: ${e.message}`)
    return 1
  }
  // Not a known case: the message only (URLs redacted); FLEXSECURE_DEBUG=1 adds the stack.
  console.error(`flexsecure: ${redactUrl(String(e?.message ?? error))}`)
  if (process.env.FLEXSECURE_DEBUG) console.error(error)
  return 1
}

/** Runs the command line of this process and sets its exit code: what the `flexsecure` bin calls. */
export function runFromProcess(argv: readonly string[] = process.argv.slice(2)): void {
  const json = argv.includes('--json')
  const print: Print = (value, lines) =>
    console.log(json ? JSON.stringify(value, null, 2) : typeof lines === 'string' ? lines : lines.join('\n'))
  main(argv, print, (text) => console.log(text)).then(
    (code) => {
      if (code >= 0) process.exitCode = code
    },
    (error) => {
      process.exitCode = exitCodeFor(error, argv)
    },
  )
}

// Run as a script (`tsx src/cli.ts`, `node dist/cli.js`); imported (the bin, tests), it waits to be called.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) runFromProcess()
