// The HTTP handler over each real storage: SQLite always, PostgreSQL and MariaDB when they answer (or
// when FLEXSECURE_REQUIRE_PG / FLEXSECURE_REQUIRE_MYSQL say they must). Hostile input can break what
// one database accepts and another refuses (U+0000 on PostgreSQL), so those tests run on all three.
import { createEngine, type EngineOptions, type Storage } from '@flexsecure/core'
import { captureNotifier, cheapHasher, manualClock } from '@flexsecure/core/testing'
import { mysqlStorage } from '../../../adapters/mysql/src/index.js'
import { testDatabase as mysqlDatabase, mysqlReachable } from '../../../adapters/mysql/test/test-database.js'
import { postgresStorage } from '../../../adapters/postgres/src/index.js'
import {
  testDatabase as postgresDatabase,
  postgresReachable,
} from '../../../adapters/postgres/test/test-database.js'
import { sqliteStorage } from '../../../adapters/sqlite/src/index.js'
import { createHttpHandler, type HttpHandlerOptions } from '../src/http-handler.js'

export const SECRET = 'test-secret-test-secret-test-secret'
export const BASE = 'https://auth.example.com'

/** A storage to run against, opened fresh for each fixture; `drop` removes its database at the end. */
export interface StorageKind {
  readonly name: string
  open(): Promise<Storage>
  drop(): Promise<void>
}

/** SQLite, plus PostgreSQL and MariaDB where a server answers. */
export async function storageKinds(): Promise<StorageKind[]> {
  const kinds: StorageKind[] = [
    { name: 'sqlite', open: async () => sqliteStorage({ filename: ':memory:' }), drop: async () => {} },
  ]
  if (await postgresReachable()) {
    const database = postgresDatabase()
    kinds.push({
      name: 'postgres',
      open: async () => {
        await database.reset()
        return postgresStorage({ connectionString: database.url, max: 4 })
      },
      drop: () => database.drop(),
    })
  }
  if (await mysqlReachable()) {
    const database = mysqlDatabase()
    kinds.push({
      name: 'mysql',
      open: async () => {
        await database.reset()
        return mysqlStorage({ uri: database.url, connectionLimit: 4 })
      },
      drop: () => database.drop(),
    })
  }
  return kinds
}

/**
 * An engine on `storage` with one account (system `payroll`, user `alice`), an `auth` and an `admin`
 * key, an injected clock and a capturing notifier, and the HTTP handler over it.
 */
export async function handlerFixture(
  storage: Storage,
  http: Partial<HttpHandlerOptions> = {},
  engineOptions: Pick<EngineOptions, 'throttle'> = {},
) {
  const clock = manualClock()
  const notifier = captureNotifier()
  const logs: string[] = []
  const log = (message: string, fields?: Record<string, unknown>) =>
    void logs.push(`${message} ${JSON.stringify(fields ?? {})}`)
  const engine = createEngine({
    storage,
    notifier,
    clock,
    secret: SECRET,
    links: { baseUrl: BASE },
    hasher: cheapHasher(),
    logger: { warn: log, error: log },
    ...engineOptions,
  })
  await engine.migrate()
  const { id } = await engine.accounts.create({
    name: 'Acme',
    settings: { sendLimits: { resendCooldownSeconds: 0 } },
  })
  const acme = engine.account(id)
  await acme.systems.create({
    name: 'payroll',
    policies: { passwordless: { enabled: true }, pin: { enabled: true } },
  })
  await acme.users.create({ authid: 'alice', email: 'alice@example.com', phone: '+14155552671' })
  const keys = {
    auth: (await acme.apiKeys.create({ name: 'host', scopes: ['auth'] })).key,
    admin: (await acme.apiKeys.create({ name: 'ops', scopes: ['admin'] })).key,
  }
  const handler = createHttpHandler({ engine, secret: SECRET, now: () => clock.now(), ...http })
  return { engine, acme, clock, notifier, logs, keys, handler, close: () => engine.close() }
}

export type HandlerFixture = Awaited<ReturnType<typeof handlerFixture>>
