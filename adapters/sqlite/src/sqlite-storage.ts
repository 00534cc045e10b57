import { type Database, type GroupCommitStats, type KyselyStorage, kyselyStorage } from '@flexsecure/kysely'
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
   * How far a commit is on the disk before it returns (S37; docs/configuration.md). `full` (the default):
   * every commit survives a power loss, so an outbox row exists before its message goes out. `normal`:
   * a commit survives a crash of the process, but the last ones may be lost with the power.
   */
  readonly synchronous?: 'full' | 'normal'
  /**
   * At `full`, where a commit waits for the disk. `off-thread` (the default, a file in WAL mode): the
   * connection runs at `synchronous=NORMAL` and the executor syncs the WAL on libuv's pool after the
   * COMMIT, answering only then, while the next batch runs; the same durability without the event loop
   * waiting for the disk. `in-commit`: SQLite's own `synchronous=FULL`, inside COMMIT on the main thread.
   */
  readonly durableCommits?: 'off-thread' | 'in-commit'
  /**
   * Writes that precede no message (a link's confirmation, a check's move to `authenticated`, an attempt
   * taken, a failure counted, a delivery's outcome) are answered once committed, and synced a moment
   * later (docs/decisions.md, "Deferred sync"): a power loss in that moment may undo them, so a login
   * may have to be done again. Default true at `off-thread`; false makes every write wait for the disk.
   */
  readonly deferredSync?: boolean
  /**
   * The moment of `deferredSync`, in ms at most (default 5): a batch of deferred writes is synced by the
   * next sync a durable write starts, or this long after its COMMIT, whichever comes first. 0 starts its
   * sync at once.
   */
  readonly deferredSyncDelayMs?: number
  /**
   * At `off-thread`, whether a sync may run on the event loop's thread while commits come one at a time
   * (default true): only after 16 syncs in a row on libuv's pool each ended before any other commit came,
   * and while syncs take under 1 ms on average; back on the pool at the first overlap, or once syncs are
   * slow (`sync-placement.ts` in `@flexsecure/kysely`). It saves the pool's two thread wake-ups when
   * nothing would run meanwhile; a sync that stalls then holds the event loop (docs/configuration.md).
   * False: every sync on the pool.
   */
  readonly inlineSyncs?: boolean
  /**
   * Concurrent transactions share one SQLite transaction and one commit, a savepoint each (group commit,
   * `sqlite-executor.ts`). Default true; false commits each transaction on its own.
   */
  readonly groupCommit?: boolean
  /**
   * Where WAL checkpoints run: `connection` (SQLite's default: inside the commit that fills 1,000 WAL
   * frames, on the thread that committed) or `worker` (a worker thread with its own connection, so the
   * event loop never copies pages or waits for a sync; `wal-checkpointer.ts`). A file only. Default
   * `connection`; the server uses `worker`.
   */
  readonly walCheckpoints?: 'connection' | 'worker' | ({ readonly in: 'worker' } & WalCheckpointerOptions)
}

/**
 * The SQLite storage; `walCheckpointer` is there when checkpoints run in a worker. `commitStats()`: its
 * commits, the transactions in them and its syncs so far (the server's `/metrics` shows them).
 */
export type SqliteStorage = KyselyStorage & {
  readonly walCheckpointer?: WalCheckpointer
  commitStats(): GroupCommitStats
}

/**
 * Storage on SQLite through better-sqlite3: WAL, durable commits (`synchronous=FULL`, the WAL synced off
 * the event loop), foreign keys on, group commit, and every statement prepared once. Several processes
 * may share one database file.
 *
 * ```ts
 * const storage = sqliteStorage({ filename: 'data/flexsecure.db' })
 * ```
 */
export function sqliteStorage(options: SqliteStorageOptions = {}): SqliteStorage {
  const owned = !options.database
  const database = options.database ?? new BetterSqlite3(options.filename ?? ':memory:')
  // A connection of the caller's gets its own `synchronous` back at the close.
  const callersSynchronous = database.pragma('synchronous', { simple: true }) as number
  const synchronous = options.synchronous ?? 'full'
  applyPragmas(database, options.busyTimeoutMs ?? 5000, synchronous)
  // The file SQLite really opened: a symbolic link resolved, so the WAL synced is the one SQLite writes
  // (`<target>-wal`, in the target's directory). Empty for an in-memory or temporary database.
  const file = mainFileOf(database)
  // At FULL in WAL mode, the executor syncs the WAL off the event loop instead of SQLite inside COMMIT.
  const offThread =
    synchronous === 'full' &&
    options.durableCommits !== 'in-commit' &&
    database.pragma('journal_mode', { simple: true }) === 'wal' &&
    file !== ''
  if (offThread) database.pragma('synchronous = NORMAL')
  const inWorker =
    options.walCheckpoints !== undefined && options.walCheckpoints !== 'connection' && ownDriver(database)
  const walCheckpointer =
    inWorker && file !== ''
      ? startWalCheckpointer(database, file, {
          busyTimeoutMs: options.busyTimeoutMs ?? 5000,
          onError: (error) => console.error('[flexsecure] the WAL checkpoint worker failed', error),
          ...(typeof options.walCheckpoints === 'object' ? options.walCheckpoints : {}),
        })
      : undefined
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) })
  const executor = sqliteExecutor(database, {
    ...(options.groupCommit === false ? { maxBatch: 1 } : {}),
    ...(offThread ? { walFile: `${file}-wal` } : {}),
    deferred: offThread && options.deferredSync !== false,
    ...(options.deferredSyncDelayMs !== undefined
      ? { deferredSyncDelayMs: options.deferredSyncDelayMs }
      : {}),
    ...(options.inlineSyncs === false ? { inlineSyncs: false } : {}),
    ...(walCheckpointer ? { beforeBatch: () => walCheckpointer.beforeBatch() } : {}),
    onUnawaitedSyncFailure: (error) =>
      console.error(
        '[flexsecure] a sync of the SQLite WAL failed: writes answered since the last good sync may not survive a power loss, and every write that needs the disk fails from now on; restart the process once the disk is sound',
        error,
      ),
  })
  const storage = kyselyStorage({
    db,
    executor,
    onClose: async () => {
      try {
        await executor.close()
      } finally {
        await walCheckpointer?.close()
        if (owned && database.open) database.close()
        else if (database.open) database.pragma(`synchronous = ${callersSynchronous}`)
      }
    },
  })
  return {
    ...storage,
    ...(walCheckpointer ? { walCheckpointer } : {}),
    commitStats: () => ({ ...executor.stats }),
    // Two processes migrating one new file at once: the loser sees SQLITE_BUSY and tries again.
    async migrate() {
      for (let attempt = 1; ; attempt++) {
        try {
          const migrated = await storage.migrate()
          // The migrations commit through Kysely's driver, beside the executor: synced here, since with
          // another process on the file no close of ours checkpoints them.
          await executor.syncWal()
          return migrated
        } catch (error) {
          const busy = String((error as Error)?.message).includes('database is locked')
          if (!busy || attempt >= 5) throw error
        }
      }
    },
  }
}

/** The path of the file a connection opened, links resolved; '' for an in-memory or temporary database. */
function mainFileOf(database: BetterSqlite3.Database): string {
  if (database.memory) return ''
  const main = (database.pragma('database_list') as { name: string; file: string }[]).find(
    (entry) => entry.name === 'main',
  )
  return main?.file ?? ''
}

/**
 * Whether a connection comes from this package's better-sqlite3. The checkpoint worker loads that one;
 * a connection from another copy (another version, a bundle) would put two SQLite libraries on one file
 * in one process, and closing the worker's connection would drop the other's POSIX locks (SQLite's
 * bookkeeping of them is per library), letting another process delete the WAL under it.
 */
function ownDriver(database: BetterSqlite3.Database): boolean {
  if (database instanceof BetterSqlite3) return true
  console.warn(
    "[flexsecure] walCheckpoints: 'worker' needs a connection from @flexsecure/sqlite's own better-sqlite3; this one comes from another copy, so its checkpoints stay on the connection",
  )
  return false
}

/** The pragmas the benchmark's raw floor uses too, so the comparison is fair. */
export function applyPragmas(
  database: BetterSqlite3.Database,
  busyTimeoutMs = 5000,
  synchronous: 'full' | 'normal' = 'full',
): void {
  if (synchronous !== 'full' && synchronous !== 'normal')
    throw new TypeError(`synchronous must be 'full' or 'normal', not ${String(synchronous)}`)
  database.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`)
  if (database.name !== ':memory:' && database.name !== '') database.pragma('journal_mode = WAL')
  database.pragma(`synchronous = ${synchronous.toUpperCase()}`)
  database.pragma('foreign_keys = ON')
  database.pragma('temp_store = MEMORY')
  database.pragma('cache_size = -16000')
}
