// An engine on a real in-memory SQLite database, an injected clock and a capturing notifier: what the
// HTTP, server, console and SMTP tests run against, so their black-box tests keep a real database under
// them. Core's own tests use core's fixture on its in-memory storage (packages/core/src/testing/).
import { createEngine, type EngineOptions } from '@flexsecure/core'
import { captureNotifier, cheapHasher, manualClock } from '@flexsecure/core/testing'
import BetterSqlite3 from 'better-sqlite3'
import { sqliteStorage } from '../src/index.js'

export const TEST_SECRET = 'test-secret-test-secret-test-secret'
export const BASE_URL = 'https://auth.example.com'

/**
 * The fixture. Any engine option but the storage, secret and links may be given (a notifier, a clock,
 * `outbox`, …) and goes to `createEngine` as is; `resendCooldownSeconds` sets Acme's cooldown.
 */
export async function engineFixture(
  options: Partial<Omit<EngineOptions, 'storage' | 'secret' | 'links'>> & {
    resendCooldownSeconds?: number
  } = {},
) {
  const { resendCooldownSeconds, ...engineOptions } = options
  const database = new BetterSqlite3(':memory:')
  const storage = sqliteStorage({ database })
  const clock = manualClock()
  const notifier = captureNotifier()
  const warnings: string[] = []
  /** Every log line in full, to prove no secret is ever logged. */
  const logs: string[] = []
  const log = (message: string, fields?: Record<string, unknown>) => {
    warnings.push(message)
    logs.push(`${message} ${JSON.stringify(fields ?? {})}`)
  }
  const engine = createEngine({
    storage,
    notifier,
    clock,
    hasher: cheapHasher(),
    logger: { warn: log, error: log },
    ...engineOptions,
    secret: TEST_SECRET,
    links: { baseUrl: BASE_URL },
  })
  await engine.migrate()
  // Most tests start again at once to exercise supersession; the resend cooldown has tests of its own.
  const { id } = await engine.accounts.create({
    name: 'Acme',
    settings: { sendLimits: { resendCooldownSeconds: resendCooldownSeconds ?? 0 } },
  })
  const acme = engine.account(id)
  await acme.systems.create({
    name: 'payroll',
    policies: { passwordless: { enabled: true }, pin: { enabled: true } },
  })
  await acme.users.create({ authid: 'alice', email: 'alice@example.com', phone: '+14155552671' })
  return {
    engine,
    acme,
    clock,
    notifier,
    storage,
    database,
    warnings,
    logs,
    /** Every row of a table, straight from SQLite. */
    rows: (table: string) => database.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[],
    close: () => engine.close().then(() => database.close()),
  }
}

export type EngineFixture = Awaited<ReturnType<typeof engineFixture>>

/** A read-only connection to a database file, for tests that inspect what was written. */
export function openReadOnly(filename: string): BetterSqlite3.Database {
  return new BetterSqlite3(filename, { readonly: true })
}

/** A read-write connection to a database file, for tests that tamper with what was written. */
export function openForTampering(filename: string): BetterSqlite3.Database {
  return new BetterSqlite3(filename)
}
