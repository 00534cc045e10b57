import { type Database, type KyselyStorage, kyselyStorage } from '@flexsecure/kysely'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { sqliteExecutor } from './sqlite-executor.js'
import {
  startWalCheckpointer,
  type WalCheckpointer,
  type WalCheckpointerOptions,
} from './wal-checkpointer.js'

export interface SqliteStorageOptions {
  /** A file path, or `:memory:`. The directory must exist. Ignored when `database` is given. */
  readonly filename?: string
  /** Your own better-sqlite3 connection; pragmas are applied to it, and `close()` leaves it open. */
  readonly database?: BetterSqlite3.Database
  /** Milliseconds a writer waits for another process's lock before failing. Default 5000. */
  readonly busyTimeoutMs?: number
  /**
   * Where WAL checkpoints run: `connection` (SQLite's default: inside the commit that fills 1,000 WAL
   * frames, on the thread that committed) or `worker` (a worker thread with its own connection, so the
   * event loop never copies pages or waits for a sync; `wal-checkpointer.ts`). A file only. Default
   * `connection`; the server uses `worker`.
   */
  readonly walCheckpoints?: 'connection' | 'worker' | ({ readonly in: 'worker' } & WalCheckpointerOptions)
}

/** The SQLite storage; `walCheckpointer` is there when checkpoints run in a worker. */
export type SqliteStorage = KyselyStorage & { readonly walCheckpointer?: WalCheckpointer }

/**
 * Storage on SQLite through better-sqlite3: WAL, `synchronous=NORMAL`, foreign keys on, and every
 * statement prepared once. Several processes may share one database file.
 *
 * ```ts
 * const storage = sqliteStorage({ filename: 'data/flexsecure.db' })
 * ```
 */
export function sqliteStorage(options: SqliteStorageOptions = {}): SqliteStorage {
  const owned = !options.database
  const database = options.database ?? new BetterSqlite3(options.filename ?? ':memory:')
  applyPragmas(database, options.busyTimeoutMs ?? 5000)
  const inWorker = options.walCheckpoints !== undefined && options.walCheckpoints !== 'connection'
  const walCheckpointer =
    inWorker && !database.memory && database.name !== ''
      ? startWalCheckpointer(database, database.name, {
          busyTimeoutMs: options.busyTimeoutMs ?? 5000,
          onError: (error) => console.error('[flexsecure] the WAL checkpoint worker failed', error),
          ...(typeof options.walCheckpoints === 'object' ? options.walCheckpoints : {}),
        })
      : undefined
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) })
  const storage = kyselyStorage({
    db,
    executor: sqliteExecutor(database),
    onClose: async () => {
      await walCheckpointer?.close()
      if (owned && database.open) database.close()
    },
  })
  return {
    ...storage,
    ...(walCheckpointer ? { walCheckpointer } : {}),
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
