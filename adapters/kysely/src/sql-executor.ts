import { settledWithin, underWay } from '@flexsecure/core'
import { CompiledQuery, type Kysely } from 'kysely'

/**
 * How durable a write must be before its caller hears the answer. `before-answer` (the default): the
 * commit is on the disk (S37: what precedes a message to a provider). `deferred`: the commit is visible
 * and ordered before every later one, and on the disk at the next commit synced for someone else, or
 * when the executor syncs in the background a moment later; a power loss in between may undo it (never
 * a crash of the process). For writes that precede no message (docs/decisions.md, "Deferred sync").
 * An executor that has no cheaper way to commit treats both alike.
 */
export interface WriteOptions {
  readonly durability?: 'before-answer' | 'deferred'
}

/**
 * For the writes that precede no message to a provider: a login's confirmation, its move to
 * `authenticated` or `failed`, an attempt taken, a failure counted, a delivery's outcome.
 */
export const DEFERRED: WriteOptions = { durability: 'deferred' }

/**
 * Runs compiled SQL. The shared storage talks only to this, so a dialect adapter can supply a faster
 * path (the SQLite adapter keeps prepared statements) while any Kysely dialect works through
 * `kyselyExecutor`.
 */
export interface SqlExecutor {
  /** Rows of a SELECT, or of a write with RETURNING. */
  all<Row = Record<string, unknown>>(
    sql: string,
    parameters: readonly unknown[],
    options?: WriteOptions,
  ): Promise<Row[]>
  /** Rows affected by a write. */
  run(sql: string, parameters: readonly unknown[], options?: WriteOptions): Promise<number>
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options?: WriteOptions): Promise<T>
  /**
   * Inside a transaction that shares its database transaction with others (group commit): what they
   * keep for each other until the shared COMMIT. Absent elsewhere.
   */
  readonly batch?: BatchScope
}

/**
 * Values the transactions of one shared database transaction keep for each other, each written to the
 * database once, just before the shared COMMIT, instead of by every transaction: the audit chain's head
 * of an account, read by the batch's first transaction to append to it and written back once (ARCHITECTURE
 * §7: one head update per account per batch). A transaction rolled back to its savepoint takes its
 * changes to the scope with it, as it does its rows.
 */
export interface BatchScope {
  /** The value an earlier transaction of the batch (or this one) kept under `key`. */
  get<T>(key: string): T | undefined
  /**
   * Keeps `value` under `key` for the rest of the batch; `write` puts it in the database before the
   * COMMIT (a failing `write` fails the whole batch, like a failing COMMIT).
   */
  set<T>(key: string, value: T, write: (tx: SqlExecutor, value: T) => Promise<void>): void
  /** Writes `key`'s value now, if it has one not yet written, and forgets it: for a statement that reads it. */
  settle(key: string): Promise<void>
}

/** The portable executor: every statement goes through Kysely's driver. */
export function kyselyExecutor(db: Kysely<unknown>): SqlExecutor {
  return {
    async all<Row>(sql: string, parameters: readonly unknown[]) {
      return (await db.executeQuery(CompiledQuery.raw(sql, [...parameters]))).rows as Row[]
    },
    async run(sql, parameters) {
      const result = await db.executeQuery(CompiledQuery.raw(sql, [...parameters]))
      return Number(result.numAffectedRows ?? 0n)
    },
    transaction(work) {
      if (db.isTransaction) return work(kyselyExecutor(db))
      return db.transaction().execute((trx) => work(kyselyExecutor(trx)))
    },
  }
}

/** Which failures a dialect's executor may answer by running the work again. */
export interface RetryRules {
  /** The database rolled the whole transaction back and it may simply run again (InnoDB deadlocks). */
  readonly rolledBack?: (error: unknown) => boolean
  /**
   * The connection was gone (a server restart, an idle timeout, an administrator) and the pool had not
   * noticed yet; the pool drops it, so running again takes a new one.
   */
  readonly connectionLost: (error: unknown) => boolean
}

/**
 * Runs again what is safe to run again: a whole transaction the database rolled back; a transaction
 * whose connection was lost before it began; a read whose connection was lost. A write outside a
 * transaction, or a transaction that had begun, is not repeated on a lost connection: the server may
 * have applied it, so the error stands (a StorageError to the caller).
 */
export function retryingExecutor(inner: SqlExecutor, rules: RetryRules, attempts = 5): SqlExecutor {
  const rolledBack = rules.rolledBack ?? (() => false)
  return {
    async all(sql, parameters, options) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await inner.all(sql, parameters, options)
        } catch (error) {
          if (attempt >= attempts || !rules.connectionLost(error) || !/^\s*select\b/i.test(sql)) throw error
        }
      }
    },
    run: (sql, parameters, options) => inner.run(sql, parameters, options),
    async transaction(work, options) {
      for (let attempt = 1; ; attempt++) {
        let began = false
        try {
          return await inner.transaction((tx) => {
            began = true
            return work(tx)
          }, options)
        } catch (error) {
          const again = rolledBack(error) || (rules.connectionLost(error) && !began)
          if (attempt >= attempts || !again) throw error
        }
      }
    },
  }
}

/**
 * An executor whose storage can close in order: once `close()` began it refuses new work ("the `name`
 * storage is closed": a send that answers after the engine's close wait writes no outcome, and goes again
 * once its claim lapses), and `close()` resolves once the work under way has ended, or after `waitMs`.
 * Ending a pool under a transaction aborts it (mysql2) or lets it commit after the close (pg).
 */
export function closableExecutor(inner: SqlExecutor, name: string) {
  let closing = false
  const running = underWay()
  const track = <T>(work: () => Promise<T>): Promise<T> =>
    closing ? Promise.reject(new Error(`the ${name} storage is closed`)) : running.track(work())
  const executor: SqlExecutor = {
    all: (sql, parameters, options) => track(() => inner.all(sql, parameters, options)),
    run: (sql, parameters, options) => track(() => inner.run(sql, parameters, options)),
    transaction: (work, options) => track(() => inner.transaction(work, options)),
  }
  return {
    executor,
    async close(waitMs = 5_000): Promise<void> {
      closing = true
      await settledWithin(running.idle(), waitMs)
    },
  }
}
