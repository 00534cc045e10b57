import type { AuditSealer, Storage } from '@flexsecure/core'
import { type Kysely, Migrator } from 'kysely'
import { accountStore, apiKeyStore } from './account-store.js'
import { adminQueries } from './admin-queries.js'
import { auditChain, auditStore } from './audit-store.js'
import { completionCodeQueries } from './completion-code-queries.js'
import { dialectOf } from './console-schema.js'
import { consoleSessionQueries } from './console-session-queries.js'
import type { SqlDialect } from './dialect.js'
import { loginStore } from './login-store.js'
import { migrations } from './migrations.js'
import { outboxInspector, outboxStore } from './outbox-store.js'
import type { Database } from './schema.js'
import { secretStoreQueries } from './secret-store-queries.js'
import { kyselyExecutor, type SqlExecutor } from './sql-executor.js'
import { standardDialect } from './standard-dialect.js'
import { type StoreContext, sqlContext } from './store-context.js'
import { systemStore } from './system-store.js'
import { userStore } from './user-store.js'

export interface KyselyStorageOptions {
  /** A Kysely instance on the database; used to build queries once and to run migrations. */
  readonly db: Kysely<Database>
  /** How statements run; defaults to Kysely's own driver. The SQLite adapter passes a faster one. */
  readonly executor?: SqlExecutor
  /**
   * The statements that differ between databases, built on the same `db`: `standardDialect(db, …)`
   * (the default, as SQLite runs it) or `mysqlDialect(db)`.
   */
  readonly dialect?: SqlDialect
  /** Called by `close()`, e.g. to close the driver's connection. */
  readonly onClose?: () => Promise<void>
}

/** A Storage that can also say which migrations it has not run: what a readiness probe asks. */
export type KyselyStorage = Storage & {
  /** Reads the migration table (so the database must be reachable); `pending` is empty when current. */
  migrationStatus(): Promise<{ readonly pending: readonly string[] }>
}

/**
 * The Storage port over any Kysely dialect. Each store (`*-store.ts`) compiles its hot queries once
 * here; each challenge move is one conditional UPDATE, and audit rows join the transaction of the
 * change they record.
 *
 * ```ts
 * const storage = kyselyStorage({ db: new Kysely<Database>({ dialect }) })
 * ```
 */
export function kyselyStorage(options: KyselyStorageOptions): KyselyStorage {
  const { db } = options
  const exec = options.executor ?? kyselyExecutor(db as Kysely<unknown>)
  let seal: AuditSealer | null = null
  const base = sqlContext(db, exec, options.dialect ?? standardDialect(db), () => seal)
  const ctx: StoreContext = { ...base, ...auditChain(base) }
  const migrator = () => new Migrator({ db, provider: { getMigrations: async () => migrations } })

  // The console's optional stores (console-session-queries.ts, admin-queries.ts, …) share this
  // storage's executor, audit chain and error handling.
  const extension = { db, exec, dialect: dialectOf(db), appendAudit: ctx.appendAudit, guard: ctx.guard }
  return {
    async migrationStatus() {
      const known = await migrator().getMigrations()
      return {
        pending: known.filter((migration) => !migration.executedAt).map((migration) => migration.name),
      }
    },
    migrate: () =>
      ctx.guard('migrate', async () => {
        const { error } = await migrator().migrateToLatest()
        if (error) throw error
      }),
    async close() {
      await options.onClose?.()
    },
    sealAuditWith(sealer) {
      seal = sealer
    },
    accounts: accountStore(ctx),
    apiKeys: apiKeyStore(ctx),
    systems: systemStore(ctx),
    users: userStore(ctx),
    logins: loginStore(ctx),
    outbox: outboxStore(ctx),
    audit: auditStore(ctx),
    inspector: outboxInspector(ctx),
    consoleSessions: consoleSessionQueries(extension),
    adminQueries: adminQueries(extension),
    completionCodes: completionCodeQueries(extension),
    secretStore: secretStoreQueries(extension),
  }
}
