import { CompiledQuery, type Kysely } from 'kysely'

/**
 * Runs compiled SQL. The shared storage talks only to this, so a dialect adapter can supply a faster
 * path (the SQLite adapter keeps prepared statements) while any Kysely dialect works through
 * `kyselyExecutor`.
 */
export interface SqlExecutor {
  /** Rows of a SELECT, or of a write with RETURNING. */
  all<Row = Record<string, unknown>>(sql: string, parameters: readonly unknown[]): Promise<Row[]>
  /** Rows affected by a write. */
  run(sql: string, parameters: readonly unknown[]): Promise<number>
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>
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
