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
): SqlExecutor & { readonly stats: GroupCommitStats; close(): Promise<void>; flush(): Promise<void> } {
  const statements = new Map<string, BetterSqlite3.Statement>()
  const statement = (sql: string) => {
    let prepared = statements.get(sql)
    if (!prepared) {
      prepared = db.prepare(sql)
      statements.set(sql, prepared)
    }
    return prepared
  }
  const readers = new Map<string, Reader>()
  const reader = (sql: string) => {
    let prepared = readers.get(sql)
    if (!prepared) {
      prepared = rowReader(db.prepare(sql))
      readers.set(sql, prepared)
    }
    return prepared
  }
  const { walFile, ...groupOptions } = options
  const wal = walFile ? walSyncer(walFile) : undefined
  const executor = groupCommitExecutor(
    {
      all: <Row>(sql: string, parameters: readonly unknown[]) => reader(sql)(parameters) as Row[],
      run: (sql, parameters) => statement(sql).run(...parameters).changes,
      inTransaction: () => db.inTransaction,
      ...(wal ? { sync: wal.sync } : {}),
    },
    // IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read.
    { begin: 'BEGIN IMMEDIATE', ...groupOptions },
  )
  return Object.assign(executor, {
    close: async () => {
      try {
        await executor.flush()
      } catch {
        // A failed sync was already the error of every caller who needed the disk (and of every one
        // after it); closing still releases the WAL's handle, the checkpointer and the connection.
      } finally {
        await wal?.close()
      }
    },
  })
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
  let closed = false
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
      // After the close (a write that was still running then): a handle of its own, closed again.
      last = closed ? syncOnce(walFile) : opened().then((file) => file.datasync())
      return last
    },
    async close(): Promise<void> {
      closed = true
      await last.catch(() => {})
      if (handle) await (await handle.catch(() => undefined))?.close()
      handle = undefined
    },
  }
}

async function syncOnce(file: string): Promise<void> {
  const handle = await open(file, 'r')
  try {
    await handle.datasync()
  } finally {
    await handle.close()
  }
}

type Reader = (parameters: readonly unknown[]) => Record<string, unknown>[]

/**
 * Rows of a statement as objects keyed by column name, built from better-sqlite3's raw arrays by a
 * function made once per statement: an object literal of the statement's columns, so every row of
 * a statement shares one shape. better-sqlite3 builds each row object property by property in C++,
 * which costs about 10 µs more for a wide row such as the login's joined read (60 columns), the read
 * every poll makes. The literal's keys are the column names quoted by JSON.stringify, so no name can
 * be more than a key; a `__proto__` column (which a literal would take as the prototype) keeps
 * better-sqlite3's own objects, as does a statement that returns no columns.
 */
function rowReader(statement: BetterSqlite3.Statement): Reader {
  if (!statement.reader) return (parameters) => statement.all(...parameters) as Record<string, unknown>[]
  const names = statement.columns().map((column) => column.name)
  if (names.includes('__proto__'))
    return (parameters) => statement.all(...parameters) as Record<string, unknown>[]
  const row = new Function(
    'r',
    `return { ${names.map((name, i) => `${JSON.stringify(name)}: r[${i}]`).join(', ')} }`,
  ) as (values: unknown[]) => Record<string, unknown>
  statement.raw(true)
  return (parameters) => {
    const rows = statement.all(...parameters) as unknown[][]
    const objects = new Array<Record<string, unknown>>(rows.length)
    for (let i = 0; i < rows.length; i++) objects[i] = row(rows[i] as unknown[])
    return objects
  }
}
