import { open } from 'node:fs/promises'
import { dirname } from 'node:path'
import {
  type GroupCommitOptions,
  type GroupCommitStats,
  groupCommitExecutor,
  type SqlExecutor,
} from '@flexsecure/kysely'
import type BetterSqlite3 from 'better-sqlite3'

export interface SqliteExecutorOptions extends GroupCommitOptions {
  /**
   * The connection's WAL file, when its commits are made durable by the executor rather than by SQLite:
   * the connection runs at `synchronous=NORMAL` and the executor syncs this file on libuv's pool after a
   * COMMIT, answering the callers who need it once that returned (`group-commit.ts`).
   */
  readonly walFile?: string
}

/**
 * Runs statements on one better-sqlite3 connection, keeping each prepared statement for reuse, with group
 * commit: concurrent transactions share one SQLite transaction, a savepoint each (`group-commit.ts`).
 * SQLite has one writer per file, so sharing its transaction costs no concurrency and saves a commit
 * (and, at `synchronous=FULL`, an fsync) per transaction.
 */
export function sqliteExecutor(
  db: BetterSqlite3.Database,
  options: SqliteExecutorOptions = {},
): SqlExecutor & { readonly stats: GroupCommitStats; close(): Promise<void> } {
  const statements = new Map<string, BetterSqlite3.Statement>()
  const statement = (sql: string) => {
    let prepared = statements.get(sql)
    if (!prepared) {
      prepared = db.prepare(sql)
      statements.set(sql, prepared)
    }
    return prepared
  }
  const { walFile, ...groupOptions } = options
  const wal = walFile ? walSyncer(walFile) : undefined
  const executor = groupCommitExecutor(
    {
      all: <Row>(sql: string, parameters: readonly unknown[]) => statement(sql).all(...parameters) as Row[],
      run: (sql, parameters) => statement(sql).run(...parameters).changes,
      inTransaction: () => db.inTransaction,
      ...(wal ? { sync: wal.sync } : {}),
    },
    // IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read.
    { begin: 'BEGIN IMMEDIATE', ...groupOptions },
  )
  return Object.assign(executor, { close: async () => wal?.close() })
}

/**
 * `fdatasync` of a WAL file on libuv's pool: what SQLite does inside COMMIT at `synchronous=FULL` (WAL
 * mode syncs only the WAL there), without blocking the event loop. On Linux a sync through any descriptor
 * of a file writes all of its dirty pages. The directory is synced once too, so a WAL file created
 * since the last sync of the directory keeps its name after a power loss.
 */
function walSyncer(walFile: string) {
  let handle: ReturnType<typeof open> | undefined
  let last: Promise<void> = Promise.resolve()
  const opened = () => {
    handle ??= (async () => {
      const directory = await open(dirname(walFile), 'r')
      try {
        await directory.sync()
      } finally {
        await directory.close()
      }
      return open(walFile, 'r')
    })()
    return handle
  }
  return {
    sync(): Promise<void> {
      last = opened().then((file) => file.datasync())
      return last
    },
    async close(): Promise<void> {
      await last.catch(() => {})
      if (handle) await (await handle.catch(() => undefined))?.close()
      handle = undefined
    },
  }
}
