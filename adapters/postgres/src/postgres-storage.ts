import {
  closableExecutor,
  type Database,
  type KyselyStorage,
  kyselyStorage,
  retryingExecutor,
  standardDialect,
} from '@flexsecure/kysely'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { connectionLost, guardedPool, pgExecutor, rolledBack } from './pg-executor.js'

export interface PostgresStorageOptions {
  /** Your own pool; `close()` leaves it open. */
  readonly pool?: pg.Pool
  /** Or a connection string (`postgres://user@host:5432/db`); the storage then owns its pool. */
  readonly connectionString?: string
  /** Connections in the owned pool. Default 10. */
  readonly max?: number
  /**
   * The owned pool's patience, in ms: how long opening a connection may take, and how long a query
   * waits for a free one (pg's pool has one limit for both); 0 waits forever. Default: libpq's
   * `connect_timeout` (the connection string's, else `PGCONNECT_TIMEOUT`; seconds, 2 at least), else
   * 10,000. Without it a server that never answers (a wrong port, a stuck proxy, a firewall that drops)
   * would hold every request, and the server's start, forever. A query that waited this long for a
   * free connection fails instead of waiting on.
   */
  readonly connectTimeoutMs?: number
  /**
   * Fewer round trips (default true): a start's own send counters in one upsert (the account's shared
   * one in a second) and a transaction's audit rows in one statement, the audit head written in the
   * statement that inserts the events, and the outcomes of many sends recorded in one transaction.
   * False runs one row per statement, as SQLite does, and each outcome in a transaction of its own; it
   * exists to measure what batching gives (`bench/README.md`, "PostgreSQL flow").
   */
  readonly batching?: boolean
}

/**
 * Storage on PostgreSQL through `pg`: safe for many app instances on one database, since every race
 * is settled by a conditional statement or a row lock in the database (see this package's README).
 *
 * ```ts
 * const storage = postgresStorage({ connectionString: process.env.DATABASE_URL })
 * ```
 */
export function postgresStorage(options: PostgresStorageOptions): KyselyStorage {
  if (!options.pool && !options.connectionString)
    throw new TypeError('postgresStorage needs a pool or a connectionString')
  const owned = !options.pool
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 10,
      connectionTimeoutMillis:
        options.connectTimeoutMs ?? connectTimeoutOf(options.connectionString as string) ?? 10_000,
      // A connection whose server vanished without a word (a failover, a dropped network) is found out
      // by TCP keepalive within about a minute, instead of the two hours Linux waits by default.
      keepAlive: true,
      keepAliveInitialDelayMillis: 30_000,
    })
  // An idle connection the server drops (a restart, a failover, an administrator) makes the pool emit
  // 'error'; unheard, that event would crash the host process. The pool replaces the connection on
  // the next query, so it is only worth a line. A host passing its own pool handles its own events.
  if (owned)
    pool.on('error', (error) =>
      console.warn(`[flexsecure] an idle PostgreSQL connection was lost: ${error.message}`),
    )
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: guardedPool(pool) }) })
  const batching = options.batching ?? true
  const closable = closableExecutor(
    retryingExecutor(pgExecutor(pool), { connectionLost, rolledBack }),
    'PostgreSQL',
  )
  let ended: Promise<void> | undefined
  const storage = kyselyStorage({
    db,
    executor: closable.executor,
    // Every statement is a round trip here: batch the writes, and let a claim skip rows another holds.
    dialect: standardDialect(db, { skipLocked: true, writableCte: batching, batchWrites: batching }),
    onClose: async () => {
      await closable.close()
      // The pool itself: Kysely's driver, which `db.destroy()` would end, is only set up once the
      // migrator ran in this process, and every store statement goes to the pool without it.
      if (owned) {
        ended ??= pool.end()
        await ended
      }
    },
  })
  if (!batching) {
    // Without the optional method the engine records each outcome in a transaction of its own.
    const { finishDeliveries: _batched, ...outbox } = storage.outbox
    return { ...storage, outbox }
  }
  return storage
}

/**
 * libpq's `connect_timeout`, in ms, as libpq reads it (pg reads it only for its native driver): the
 * connection string's last `connect_timeout`, else `PGCONNECT_TIMEOUT`; whole seconds, 2 at least, and
 * zero or less for no limit (0 here). Undefined when neither holds an integer.
 */
function connectTimeoutOf(connectionString: string): number | undefined {
  let value: string | undefined
  try {
    value = new URL(connectionString).searchParams.getAll('connect_timeout').at(-1)
  } catch {
    // Not a URL (a key=value string, a socket path): only the environment can say.
  }
  value ??= process.env.PGCONNECT_TIMEOUT
  if (value === undefined || !/^\s*[-+]?\d{1,9}\s*$/.test(value)) return undefined
  const seconds = Number.parseInt(value, 10)
  return seconds <= 0 ? 0 : Math.max(seconds, 2) * 1000
}
