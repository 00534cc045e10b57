import type { Storage } from '@flexsecure/core'
import { type Database, kyselyExecutor, kyselyStorage, type SqlExecutor } from '@flexsecure/kysely'
import { Kysely, MysqlDialect } from 'kysely'
import { createPool, type Pool } from 'mysql2'

export interface MysqlStorageOptions {
  /** Your own mysql2 pool (the callback API: `createPool`, not `mysql2/promise`); `close()` leaves it open. */
  readonly pool?: Pool
  /** Or a connection URI (`mysql://root@127.0.0.1:3306/test`); the storage then owns its pool. */
  readonly uri?: string
  /** Connections in the owned pool. Default 10. */
  readonly connectionLimit?: number
}

/** InnoDB's "deadlock found" and "lock wait timeout": the transaction was rolled back and may simply run again. */
const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'])

/** Runs a whole transaction again when InnoDB chose it as a deadlock victim: its work was rolled back. */
function retryingExecutor(inner: SqlExecutor, attempts = 5): SqlExecutor {
  return {
    all: (sql, parameters) => inner.all(sql, parameters),
    run: (sql, parameters) => inner.run(sql, parameters),
    async transaction(work) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await inner.transaction(work)
        } catch (error) {
          if (attempt >= attempts || !RETRYABLE.has((error as { code?: string })?.code ?? '')) throw error
        }
      }
    },
  }
}

/**
 * Storage on MySQL 8 or MariaDB 10.6+ through mysql2. Every connection runs at READ COMMITTED, like
 * PostgreSQL's default, which the shared storage's conditional statements are written for.
 *
 * ```ts
 * const storage = mysqlStorage({ uri: 'mysql://app@db:3306/auth' })
 * ```
 */
export function mysqlStorage(options: MysqlStorageOptions): Storage {
  if (!options.pool && !options.uri) throw new TypeError('mysqlStorage needs a pool or a uri')
  const owned = !options.pool
  const pool =
    options.pool ?? createPool({ uri: options.uri as string, connectionLimit: options.connectionLimit ?? 10 })
  pool.on('connection', (connection) => {
    connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED')
  })
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) })
  return kyselyStorage({
    db,
    standardSql: false,
    batchWrites: true,
    executor: retryingExecutor(kyselyExecutor(db as Kysely<unknown>)),
    onClose: async () => {
      if (owned) await db.destroy()
    },
  })
}
