import {
  type GroupCommitOptions,
  type GroupCommitStats,
  groupCommitExecutor,
  type SqlExecutor,
} from '@flexsecure/kysely'
import type BetterSqlite3 from 'better-sqlite3'

/**
 * Runs statements on one better-sqlite3 connection, keeping each prepared statement for reuse, with group
 * commit: concurrent transactions share one SQLite transaction, a savepoint each (`group-commit.ts`).
 * SQLite has one writer per file, so sharing its transaction costs no concurrency and saves a commit
 * (and, at `synchronous=FULL`, an fsync) per transaction.
 */
export function sqliteExecutor(
  db: BetterSqlite3.Database,
  options: GroupCommitOptions = {},
): SqlExecutor & { readonly stats: GroupCommitStats } {
  const statements = new Map<string, BetterSqlite3.Statement>()
  const statement = (sql: string) => {
    let prepared = statements.get(sql)
    if (!prepared) {
      prepared = db.prepare(sql)
      statements.set(sql, prepared)
    }
    return prepared
  }
  return groupCommitExecutor(
    {
      all: <Row>(sql: string, parameters: readonly unknown[]) => statement(sql).all(...parameters) as Row[],
      run: (sql, parameters) => statement(sql).run(...parameters).changes,
      inTransaction: () => db.inTransaction,
    },
    // IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read.
    { begin: 'BEGIN IMMEDIATE', ...options },
  )
}
