import { type Database, type KyselyStorage, kyselyStorage } from '@flexsecure/kysely'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { sqliteExecutor } from './sqlite-executor.js'

export interface SqliteStorageOptions {
  /** A file path, or `:memory:`. The directory must exist. Ignored when `database` is given. */
  readonly filename?: string
  /** Your own better-sqlite3 connection; pragmas are applied to it, and `close()` leaves it open. */
  readonly database?: BetterSqlite3.Database
  /** Milliseconds a writer waits for another process's lock before failing. Default 5000. */
  readonly busyTimeoutMs?: number
}

/**
 * Storage on SQLite through better-sqlite3: WAL, `synchronous=NORMAL`, foreign keys on, and every
 * statement prepared once. Several processes may share one database file.
 *
 * ```ts
 * const storage = sqliteStorage({ filename: 'data/flexsecure.db' })
 * ```
 */
export function sqliteStorage(options: SqliteStorageOptions = {}): KyselyStorage {
  const owned = !options.database
  const database = options.database ?? new BetterSqlite3(options.filename ?? ':memory:')
  applyPragmas(database, options.busyTimeoutMs ?? 5000)
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) })
  const storage = kyselyStorage({
    db,
    executor: sqliteExecutor(database),
    onClose: async () => {
      if (owned && database.open) database.close()
    },
  })
  return {
    ...storage,
    // Two processes migrating one new file at once: the loser sees SQLITE_BUSY and tries again.
    async migrate() {
      for (let attempt = 1; ; attempt++) {
        try {
          return await storage.migrate()
        } catch (error) {
          const busy = String((error as Error)?.message).includes('database is locked')
          if (!busy || attempt >= 5) throw error
        }
      }
    },
  }
}

/** The pragmas the benchmark's raw floor uses too, so the comparison is fair. */
export function applyPragmas(database: BetterSqlite3.Database, busyTimeoutMs = 5000): void {
  database.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`)
  if (database.name !== ':memory:' && database.name !== '') database.pragma('journal_mode = WAL')
  database.pragma('synchronous = NORMAL')
  database.pragma('foreign_keys = ON')
  database.pragma('temp_store = MEMORY')
  database.pragma('cache_size = -16000')
}
