import {
  closableExecutor,
  type Database,
  type KyselyStorage,
  kyselyExecutor,
  kyselyStorage,
  mysqlDialect,
  type RetryRules,
  retryingExecutor,
} from '@flexsecure/kysely'
import { CompiledQuery, Kysely, MysqlDialect } from 'kysely'
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
const ROLLED_BACK = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'])
/**
 * A connection that was already gone, as mysql2 reports it (it then drops it from the pool), or the
 * server's last word before closing one: MySQL 8.0.24+ says why it ended an idle connection, MariaDB
 * that it was killed, either that it is shutting down.
 */
const LOST = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'ECONNRESET',
  'EPIPE',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  'ER_CONNECTION_KILLED',
  'ER_SERVER_SHUTDOWN',
])
const codeOf = (error: unknown) => (error as { code?: string })?.code ?? ''
const RETRY: RetryRules = {
  rolledBack: (error) => ROLLED_BACK.has(codeOf(error)),
  connectionLost: (error) => LOST.has(codeOf(error)),
}

/**
 * Storage on MySQL 8 or MariaDB 10.6+ through mysql2. Every connection runs at READ COMMITTED, like
 * PostgreSQL's default, which the shared storage's conditional statements are written for.
 *
 * ```ts
 * const storage = mysqlStorage({ uri: 'mysql://app@db:3306/auth' })
 * ```
 */
export function mysqlStorage(options: MysqlStorageOptions): KyselyStorage {
  if (!options.pool && !options.uri) throw new TypeError('mysqlStorage needs a pool or a uri')
  const owned = !options.pool
  const pool =
    options.pool ?? createPool({ uri: options.uri as string, connectionLimit: options.connectionLimit ?? 10 })
  const db = new Kysely<Database>({
    dialect: new MysqlDialect({
      pool,
      // Every connection the storage uses, the first time it does: a host's pool may hold connections
      // made before the storage existed, which its 'connection' event never announces.
      onCreateConnection: async (connection) => {
        await connection.executeQuery(
          CompiledQuery.raw('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'),
        )
      },
    }),
  })
  const closable = closableExecutor(retryingExecutor(kyselyExecutor(db as Kysely<unknown>), RETRY), 'MySQL')
  return kyselyStorage({
    db,
    dialect: mysqlDialect(db),
    executor: closable.executor,
    onClose: async () => {
      // The transactions under way end first: mysql2's pool.end() aborts them mid-way.
      await closable.close()
      if (owned) await db.destroy()
    },
  })
}
