import type { SendLimit } from '@flexsecure/core'
import type { InsertQueryBuilder, InsertResult, UpdateObject, UpdateQueryBuilder, UpdateResult } from 'kysely'
import type { PreparedQuery } from './prepared-query.js'
import type { Database } from './schema.js'
import type { SqlExecutor, WriteOptions } from './sql-executor.js'

// What differs between the databases the shared storage runs on, and nothing else. The stores build
// every statement they share with Kysely and ask the dialect only for these. Two implementations:
// `standardDialect` (SQLite, PostgreSQL: `UPDATE … RETURNING`, `INSERT … ON CONFLICT … DO UPDATE …
// WHERE`) and `mysqlDialect` (MySQL, MariaDB, which have neither). Each MySQL variant keeps the
// guarantee of the statement it replaces: the UPDATE takes the row lock first, and what is read back
// afterwards in the same transaction is this transaction's own write.

/** Rows a statement returns: inside the caller's transaction, or on its own. */
export interface RowsStatement<Args extends object, Row = Record<string, unknown>> {
  /** Inside the caller's transaction. */
  run(tx: SqlExecutor, args: Args): Promise<Row[]>
  /** On its own: one statement where the dialect has RETURNING, its statements in one transaction where not. */
  runAlone(exec: SqlExecutor, args: Args, options?: WriteOptions): Promise<Row[]>
}

/** A table's column names, checked against the schema. */
export type ColumnOf<T extends keyof Database> = keyof Database[T] & string

/**
 * How an UPDATE's rows are read back: `columns` of `table`. Without RETURNING, the row is read again
 * by `key`, whose value is the UPDATE's parameter of the same name, so `key` must single out the row.
 */
export interface ReadBack<T extends keyof Database> {
  readonly table: T
  readonly key: ColumnOf<T>
  readonly columns: readonly ColumnOf<T>[]
}

/** An UPDATE of one table, built with `param()` placeholders. */
export type TableUpdate<T extends keyof Database> = UpdateQueryBuilder<Database, T, T, UpdateResult>

/** The arguments of the sweeps that move up to `limit` due rows at `at`. */
export interface SweepArgs {
  readonly at: number
  readonly limit: number
}

export interface SqlDialect {
  /** `UPDATE … RETURNING`; without it, the UPDATE and then, when it changed a row, that row read by `key`. */
  updateReturning<Args extends object, Row, T extends keyof Database>(
    update: TableUpdate<T>,
    readBack: ReadBack<T>,
  ): RowsStatement<Args, Row>
  /**
   * Write-locks the row whose `key` equals the parameter of that name and reads `columns`: a write
   * that changes nothing (`touch` = `touch`) and returns the row, or `SELECT … FOR UPDATE`. Updates
   * of what the row guards then run one after the other.
   */
  lockRow<Args extends object, Row, T extends keyof Database>(
    lock: ReadBack<T> & { readonly touch: ColumnOf<T> },
  ): RowsStatement<Args, Row>
  /** The INSERT, or where a row with the same `conflict` columns exists, `set` on that row. */
  upsert<T extends keyof Database>(
    insert: InsertQueryBuilder<Database, T, InsertResult>,
    conflict: readonly ColumnOf<T>[],
    set: UpdateObject<Database, T>,
  ): PreparedQuery
  /**
   * Counts one send against each limit (`fs_rate_limits`): a counter whose window ended starts again
   * at 1; one at its limit is left alone. Returns the first limit, in the caller's order, that
   * refused, or null. The caller rolls the transaction back on a refusal, so the other counters do not
   * keep the send. The last limit is the one the whole account shares: it is taken on its own, after
   * the others passed, so a start refused by its own counters never locks it.
   */
  takeSendLimits(tx: SqlExecutor, limits: readonly SendLimit[], now: number): Promise<SendLimit | null>
  /** Expires up to `limit` live challenges due at `at` and returns them (skipping ones another sweep holds where it can). */
  readonly expireDue: RowsStatement<SweepArgs>
  /** Claims up to `limit` due deliveries until `until` (one more attempt each) and returns them. */
  readonly claimDeliveries: RowsStatement<SweepArgs & { readonly until: number }>
  /** Cancels up to `limit` unfinished deliveries whose challenge ended or expired and returns them. */
  readonly cancelDeliveries: RowsStatement<SweepArgs>
  /**
   * Audit rows per INSERT: more than one where every statement is a round trip to a server; SQLite
   * runs one row per statement, which is cheaper there than compiling a statement per row count.
   */
  readonly auditRowsPerStatement: number
  /**
   * Whether one statement may write two tables through a writable CTE (`WITH … AS (INSERT …) UPDATE …`,
   * PostgreSQL): the last audit rows and their chain head then go in one round trip.
   */
  readonly writableCte: boolean
}

/** Audit rows per INSERT where rows are batched: a bound on the statements compiled (one per count) and on their parameters. */
export const AUDIT_ROWS_PER_STATEMENT = 32
