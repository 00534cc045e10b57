import type { SqlExecutor } from '@flexsecure/kysely'
import type BetterSqlite3 from 'better-sqlite3'

/**
 * Runs statements on one better-sqlite3 connection, keeping each prepared statement for reuse.
 * better-sqlite3 is synchronous, but the shared storage awaits between a transaction's statements;
 * a lock keeps any other call from slipping into an open transaction in the meantime.
 */
export function sqliteExecutor(db: BetterSqlite3.Database): SqlExecutor {
  const statements = new Map<string, BetterSqlite3.Statement>()
  let locked = false
  const waiting: (() => void)[] = []

  const statement = (sql: string) => {
    let prepared = statements.get(sql)
    if (!prepared) {
      prepared = db.prepare(sql)
      statements.set(sql, prepared)
    }
    return prepared
  }
  const acquire = (): Promise<void> | undefined => {
    if (!locked) {
      locked = true
      return undefined
    }
    return new Promise((resolve) => waiting.push(resolve))
  }
  const release = () => {
    const next = waiting.shift()
    if (next) next()
    else locked = false
  }

  // Inside a transaction the lock is already held: statements run directly.
  const inside: SqlExecutor = {
    async all<Row>(sql: string, parameters: readonly unknown[]) {
      return statement(sql).all(...parameters) as Row[]
    },
    async run(sql, parameters) {
      return statement(sql).run(...parameters).changes
    },
    transaction: (work) => work(inside),
  }

  const outside: SqlExecutor = {
    async all<Row>(sql: string, parameters: readonly unknown[]) {
      const wait = acquire()
      if (wait) await wait
      try {
        return statement(sql).all(...parameters) as Row[]
      } finally {
        release()
      }
    },
    async run(sql, parameters) {
      const wait = acquire()
      if (wait) await wait
      try {
        return statement(sql).run(...parameters).changes
      } finally {
        release()
      }
    },
    async transaction(work) {
      const wait = acquire()
      if (wait) await wait
      try {
        // IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read.
        statement('BEGIN IMMEDIATE').run()
        try {
          const result = await work(inside)
          statement('COMMIT').run()
          return result
        } catch (error) {
          if (db.inTransaction) statement('ROLLBACK').run()
          throw error
        }
      } finally {
        release()
      }
    },
  }
  return outside
}
