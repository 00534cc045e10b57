import { fdatasyncSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { dirname } from 'node:path'
import {
  type GroupCommitOptions,
  type GroupCommitStats,
  groupCommitExecutor,
  type SqlExecutor,
  SyncNotStarted,
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
): SqlExecutor & {
  readonly stats: GroupCommitStats
  close(): Promise<void>
  flush(): Promise<void>
  syncWal(): Promise<void>
} {
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
      ...(wal ? { sync: wal.sync, syncNow: wal.syncNow } : {}),
    },
    // IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read.
    { begin: 'BEGIN IMMEDIATE', ...groupOptions },
  )
  // Once the close began, nothing new runs: a write committed after the WAL's handle was let go could be
  // checkpointed and its WAL deleted by the connection's close under its own sync (ENOENT, though it was
  // committed). The writes queued before it still run and are synced.
  let closing = false
  const refused = () => Promise.reject(new Error('the SQLite storage is closed'))
  return {
    stats: executor.stats,
    flush: () => executor.flush(),
    all: (sql, parameters, writeOptions) =>
      closing ? refused() : executor.all(sql, parameters, writeOptions),
    run: (sql, parameters, writeOptions) =>
      closing ? refused() : executor.run(sql, parameters, writeOptions),
    transaction: (work, writeOptions) => (closing ? refused() : executor.transaction(work, writeOptions)),
    // Commits made outside the executor (the migrations, through Kysely's own driver) are synced here.
    syncWal: async () => {
      await wal?.sync()
    },
    close: async () => {
      closing = true
      try {
        // A failed sync fails the close too: deferred writes were answered at their commit, and their
        // callers have no other way to learn that the disk did not take them. Closing still releases
        // the WAL's handle, the checkpointer and the connection.
        await executor.flush()
      } finally {
        await wal?.close()
      }
    },
  }
}

/**
 * `fdatasync` of a WAL file on libuv's pool (`sync`), or on the calling thread once the file is open
 * (`syncNow`, which the executor uses while its commits come one at a time): what SQLite does inside
 * COMMIT at `synchronous=FULL` (WAL mode syncs only the WAL there). On Linux a sync through any descriptor
 * of a file writes all of its dirty pages. The directory is synced once too, so a WAL file created
 * since the last sync of the directory keeps its name after a power loss.
 */
function walSyncer(walFile: string) {
  let handle: ReturnType<typeof open> | undefined
  // The open file's descriptor, for a sync on the calling thread; until it is open, syncs go to the pool.
  let descriptor: number | undefined
  let last: Promise<void> = Promise.resolve()
  let closed = false
  const opened = () => {
    if (!handle) {
      const opening = (async () => {
        await syncDirectory(dirname(walFile))
        const file = await open(walFile, 'r')
        if (!closed) descriptor = file.fd
        return file
      })()
      handle = opening
      // A WAL that could not be opened (EMFILE, say) is opened again by the next sync: nothing was
      // handed to the disk, so nothing was lost (`SyncNotStarted`: not a failed sync, which is final).
      opening.catch(() => {
        if (handle === opening) handle = undefined
      })
    }
    return handle.catch((error: unknown) => {
      throw new SyncNotStarted(error)
    })
  }
  return {
    sync(): Promise<void> {
      // The executor refuses work once its close began, and its flush syncs what was queued before.
      if (closed) return Promise.reject(new Error('the WAL syncer is closed'))
      last = opened().then((file) => file.datasync())
      return last
    },
    /** The same `fdatasync` on this thread, once the file is open: false until then. */
    syncNow(): boolean {
      if (closed) throw new Error('the WAL syncer is closed')
      if (descriptor === undefined) return false
      fdatasyncSync(descriptor)
      return true
    },
    async close(): Promise<void> {
      closed = true
      descriptor = undefined
      await last.catch(() => {})
      if (handle) await (await handle.catch(() => undefined))?.close()
      handle = undefined
    },
  }
}

/**
 * The directory's entry for a WAL file created since it was last synced, as SQLite does once per file
 * (`unixSync`, `UNIXFILE_DIRSYNC`) and, like SQLite, whatever the answer: some file systems refuse to
 * sync a directory (EINVAL on VirtualBox shared folders and some FUSE and network mounts, EPERM on
 * others), and the WAL's own pages do not depend on it.
 */
async function syncDirectory(path: string): Promise<void> {
  try {
    const directory = await open(path, 'r')
    try {
      await directory.sync()
    } finally {
      await directory.close()
    }
  } catch {
    // Refused or unavailable: SQLite goes on too.
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
