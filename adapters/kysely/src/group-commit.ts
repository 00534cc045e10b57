import { coalescedSyncs } from './coalesced-syncs.js'
import type { BatchScope, SqlExecutor, WriteOptions } from './sql-executor.js'
import { type SyncPlacementOptions, syncPlacement } from './sync-placement.js'

/** One database connection whose statements run one at a time (better-sqlite3's is synchronous). */
export interface SingleConnection {
  all<Row>(sql: string, parameters: readonly unknown[]): Row[]
  run(sql: string, parameters: readonly unknown[]): number
  /** Whether a transaction is open: the database ends one on its own after some errors (a full disk). */
  inTransaction(): boolean
  /**
   * Puts every commit so far on the disk, off the event loop (SQLite: an `fdatasync` of the WAL on
   * libuv's pool). Given, COMMIT itself does not wait for the disk (`synchronous=NORMAL`): the executor
   * calls this after a COMMIT and answers a batch's `before-answer` callers only once it resolved.
   * Absent, COMMIT is as durable as the connection makes it and every caller is answered after it.
   * A rejection fails every later sync too, unless it is a `SyncNotStarted`.
   */
  sync?(): Promise<void>
  /**
   * The same sync on the calling thread, blocking it: what the executor uses instead of `sync` while its
   * commits come one at a time, so that nothing else would run during the sync (`sync-placement.ts`).
   * Returns false when it cannot run inline (the file is not open yet): `sync` runs instead. A throw is a
   * failed sync, as a rejection of `sync` is.
   */
  syncNow?(): boolean
}

export interface GroupCommitOptions {
  /** Opens the shared transaction. Default `BEGIN IMMEDIATE` (SQLite: the write lock up front). */
  readonly begin?: string
  /** Transactions per batch at most, so another process waiting for the write lock gets its turn. */
  readonly maxBatch?: number
  /** How often a transaction whose batch the database rolled back under it runs again. Default 3. */
  readonly attempts?: number
  /**
   * Whether `deferred` writes are answered before their commit is synced (default true). False: every
   * caller waits for the disk, so no answer is ever undone by a power loss.
   */
  readonly deferred?: boolean
  /**
   * How long a batch of deferred writes only may wait for its sync to start, in ms (default 5; a timer,
   * so later on a busy event loop): a sync started meanwhile for a caller who needs the disk covers it,
   * since a sync writes every commit before it. When logins follow each other within the delay (one
   * after another, as in the bench), that is one sync a login instead of one a commit. 0 syncs every
   * batch at once.
   */
  readonly deferredSyncDelayMs?: number
  /**
   * Called before each batch begins, with no transaction open; a promise returned holds the batch until
   * it settles (the SQLite WAL checkpointer's hold, so that the WAL can start over under load).
   */
  readonly beforeBatch?: () => Promise<void> | undefined
  /**
   * Told of the first sync that failed with nobody waiting for it (deferred writes only, already
   * answered): the one place such a failure shows before `flush()` or a durable write fails on it.
   */
  readonly onUnawaitedSyncFailure?: (error: unknown) => void
  /**
   * Whether a sync may run on the calling thread (`SingleConnection.syncNow`) while commits come one at a
   * time (default true; `sync-placement.ts` says when). False: every sync on the pool.
   */
  readonly inlineSyncs?: boolean | SyncPlacementOptions
  /** Milliseconds for timing syncs (default `performance.now`); tests pass their own. */
  readonly clock?: () => number
}

/** What the executor has done, for tests and the statements bench. */
export interface GroupCommitStats {
  /** Commits of a shared transaction. */
  batches: number
  /** Transactions and statements that ran inside them. */
  jobs: number
  /** Syncs started (`SingleConnection.sync` or `syncNow`); several commits may share one. */
  syncs: number
  /** Of those, the ones that ran on the calling thread (`syncNow`). */
  inlineSyncs: number
}

interface Job {
  readonly work: (tx: SqlExecutor) => Promise<unknown>
  /** Several statements: isolated by a savepoint, so its failure undoes only its own writes. */
  readonly isolated: boolean
  /** Answered only once its commit is on the disk (the default), or as soon as it is committed. */
  readonly durable: boolean
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
  attempts: number
  outcome?: { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown }
}

/**
 * Group commit (issue 16, ARCHITECTURE §7): the transactions that arrive while one is being written share
 * one database transaction, each inside a savepoint of its own (but the first, which the batch's ROLLBACK
 * undoes alone), and one COMMIT. A transaction arriving on an idle connection waits for the event loop's
 * next turn, so every login in flight that reached its write by then joins it. Each caller gets its answer only after the shared COMMIT returned: a result is
 * never seen before it is durable (with `synchronous=FULL`, on the disk), so the outbox row exists before
 * a notifier is called (S37).
 *
 * Isolation: one caller's transaction runs at a time, from its savepoint to its release, so it sees the
 * committed database plus what earlier transactions of the batch wrote, exactly as if they had committed
 * one after another. A transaction that throws is rolled back to its savepoint, the others stand (the
 * batch's first is rolled back with the batch, which then ends: nothing else was in it yet). If the
 * database ends the whole transaction under it (SQLITE_FULL, SQLITE_IOERR), that caller gets its error and
 * the others of the batch run again in a new one; if the COMMIT fails, every caller of the batch gets
 * that error and nothing of the batch was written.
 *
 * Reads outside a transaction (a plain SELECT) run at once while no batch is open; during one they join it
 * (seeing what it wrote) and are answered after its COMMIT. Any other statement goes through a batch.
 *
 * The batch's scope (`tx.batch`): what its transactions keep for each other and write once, before the
 * COMMIT (the audit chain's heads); a transaction rolled back to its savepoint takes its changes to the
 * scope with it, and a scope that cannot be written fails the batch as a failed COMMIT does.
 *
 * Syncing off the event loop (when the connection has `sync`): the COMMIT returns without waiting for the
 * disk, the sync runs on libuv's pool, and the next batch runs meanwhile. A batch's `before-answer`
 * callers are answered when a sync that began after its COMMIT has finished, so S37 holds as at
 * `synchronous=FULL`; its `deferred` callers right after the COMMIT (their commit is on the disk once
 * the next sync has finished, and a power loss before that may undo it: docs/decisions.md, "Deferred
 * sync"). A batch with `before-answer` callers starts a sync; one of `deferred` callers only waits about
 * `deferredSyncDelayMs` for one to start, so that when logins follow each other closely the next one's
 * durable sync takes it along (`flush()` runs the writes still queued and starts it at once, as a closing
 * storage does). A sync that fails fails its callers, every `before-answer` caller after it and every
 * `flush()`: Linux may mark the pages it could not write as clean, so a later sync that succeeds proves
 * nothing about them; the process must restart. While commits come one at a time, a sync that callers wait
 * for runs on the calling thread instead (`syncNow`, `sync-placement.ts` says when): nothing else would
 * have run meanwhile, and the pool's two thread wake-ups are saved.
 */
export function groupCommitExecutor(
  conn: SingleConnection,
  options: GroupCommitOptions = {},
): SqlExecutor & { readonly stats: GroupCommitStats; flush(): Promise<void> } {
  const begin = options.begin ?? 'BEGIN IMMEDIATE'
  const maxBatch = options.maxBatch ?? 256
  const maxAttempts = options.attempts ?? 3
  const honourDeferred = options.deferred ?? true
  const stats: GroupCommitStats = { batches: 0, jobs: 0, syncs: 0, inlineSyncs: 0 }
  const queue: Job[] = []
  let scheduled = false
  // Waiting for the queue to run dry (`flush()`): settled when a drain ends.
  let idleWaiters: (() => void)[] = []
  let open = false
  const inline = options.inlineSyncs ?? true
  const syncs = conn.sync
    ? coalescedSyncs({
        sync: conn.sync.bind(conn),
        ...(conn.syncNow && inline !== false
          ? {
              inline: {
                syncNow: conn.syncNow.bind(conn),
                placement: syncPlacement(inline === true ? {} : inline),
                clock: options.clock ?? (() => performance.now()),
              },
            }
          : {}),
        stats,
        delayMs: options.deferredSyncDelayMs ?? 5,
        onUnawaitedFailure: options.onUnawaitedSyncFailure,
      })
    : undefined

  // Inside a batch the connection is the caller's: statements run directly; nested transactions flatten;
  // the batch's scope is there for what its transactions keep for each other.
  const insideOf = (scope: BatchScope): SqlExecutor => {
    const inside: SqlExecutor = {
      all: async (sql, parameters) => conn.all(sql, parameters),
      run: async (sql, parameters) => conn.run(sql, parameters),
      transaction: (work) => work(inside),
      batch: scope,
    }
    return inside
  }

  const enqueue = <T>(
    work: (tx: SqlExecutor) => Promise<T>,
    isolated: boolean,
    options: WriteOptions | undefined,
  ): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const durable = !honourDeferred || options?.durability !== 'deferred'
      queue.push({
        work,
        isolated,
        durable,
        resolve: resolve as (value: unknown) => void,
        reject,
        attempts: 0,
      })
      if (!scheduled) {
        scheduled = true
        setImmediate(drain)
      }
    })

  async function drain(): Promise<void> {
    try {
      while (queue.length > 0) {
        const held = options.beforeBatch?.()
        if (held) await held
        await runBatch()
        // A turn of the event loop between batches: the callers answered at the COMMIT would otherwise
        // feed the next batch from microtasks, and timers, I/O and finished syncs would wait behind them.
        if (queue.length > 0) await new Promise((resolve) => setImmediate(resolve))
      }
    } finally {
      scheduled = false
      const waiters = idleWaiters
      idleWaiters = []
      for (const wake of waiters) wake()
    }
  }

  function settle(job: Job): void {
    const outcome = job.outcome
    if (outcome?.ok) job.resolve(outcome.value)
    else job.reject(outcome?.error)
  }

  function quietly(sql: string): void {
    try {
      if (conn.inTransaction()) conn.run(sql, [])
    } catch {
      // The transaction is already gone; what matters is the error that ended it.
    }
  }

  async function runBatch(): Promise<void> {
    try {
      conn.run(begin, [])
    } catch (error) {
      for (const job of queue.splice(0, maxBatch)) job.reject(error)
      return
    }
    open = true
    const kept = batchScope(insideOf)
    const { inside } = kept
    const done: Job[] = []
    let current: Job | undefined
    try {
      while (queue.length > 0 && done.length < maxBatch) {
        const job = queue.shift() as Job
        current = job
        job.attempts += 1
        // The batch's first transaction needs no savepoint: should it fail, rolling the whole batch back
        // undoes only its writes. At 1 in flight every transaction is a batch's first, and the savepoint
        // cost it two statements and SQLite a copy of each page it changed.
        const first = done.length === 0
        if (job.isolated) {
          if (!first) conn.run('SAVEPOINT fs_job', [])
          kept.begin()
        }
        try {
          job.outcome = { ok: true, value: await job.work(inside) }
          if (job.isolated) {
            if (!first) conn.run('RELEASE fs_job', [])
            kept.release()
          }
        } catch (error) {
          job.outcome = { ok: false, error }
          if (!conn.inTransaction()) {
            // The database rolled the whole batch back: this caller's error stands, the others run again.
            job.reject(error)
            const again = done.filter((other) => other.attempts < maxAttempts)
            for (const other of done) if (other.attempts >= maxAttempts) other.reject(error)
            queue.unshift(...again)
            return
          }
          if (job.isolated && first) {
            // Nothing else is in the batch yet: it ends here, and the transactions queued behind this
            // one begin the next.
            conn.run('ROLLBACK', [])
            kept.rollBack()
            job.reject(error)
            return
          }
          if (job.isolated) {
            conn.run('ROLLBACK TO fs_job', [])
            conn.run('RELEASE fs_job', [])
            kept.rollBack()
          }
        }
        done.push(job)
        current = undefined
      }
      try {
        await kept.writeAll()
        conn.run('COMMIT', [])
      } catch (error) {
        quietly('ROLLBACK')
        for (const job of done) job.reject(error)
        return
      }
      stats.batches += 1
      stats.jobs += done.length
      if (!syncs) {
        for (const job of done) settle(job)
        return
      }
      const waiting: Job[] = []
      for (const job of done) {
        if (job.durable && job.outcome?.ok) waiting.push(job)
        else settle(job)
      }
      // Nobody waits: synced by the next durable batch's sync, or when the delay runs out.
      if (waiting.length === 0) {
        syncs.soon()
        return
      }
      // Not awaited: the next batch runs while the disk catches up.
      syncs.after().then(
        () => {
          for (const job of waiting) settle(job)
        },
        (error) => {
          for (const job of waiting) job.reject(error)
        },
      )
    } catch (error) {
      // A savepoint statement itself failed: nothing of this batch can be trusted.
      quietly('ROLLBACK')
      for (const job of done) job.reject(error)
      current?.reject(error)
    } finally {
      open = false
    }
  }

  return {
    stats,
    // The writes queued so far run first (a closing storage must not leave one committed and unsynced).
    async flush() {
      while (scheduled) await new Promise<void>((wake) => idleWaiters.push(wake))
      await syncs?.flush()
    },
    async all<Row>(sql: string, parameters: readonly unknown[], options?: WriteOptions) {
      // Only a plain SELECT runs at once outside a batch; anything else may write (`WITH … INSERT`, a
      // leading comment), so it goes through a batch and its sync. A read sent there is only slower.
      if (!open && /^\s*select\b/i.test(sql)) return conn.all<Row>(sql, parameters)
      return enqueue(async (tx) => tx.all<Row>(sql, parameters), false, options)
    },
    run: (sql, parameters, options) => enqueue((tx) => tx.run(sql, parameters), false, options),
    transaction: (work, options) => enqueue(work, true, options),
  }
}

/**
 * The scope of one batch (`BatchScope`): its values, and an undo log of the transaction running now, so
 * that a transaction rolled back to its savepoint leaves the scope as it found it.
 */
function batchScope(executorFor: (scope: BatchScope) => SqlExecutor) {
  type Entry = { readonly value: unknown; readonly write: (tx: SqlExecutor, value: unknown) => Promise<void> }
  const entries = new Map<string, Entry>()
  let undo: [string, Entry | undefined][] | null = null
  const remember = (key: string) => undo?.push([key, entries.get(key)])
  const scope: BatchScope = {
    get: <T>(key: string) => entries.get(key)?.value as T | undefined,
    set(key, value, write) {
      remember(key)
      entries.set(key, { value, write: write as Entry['write'] })
    },
    async settle(key) {
      const entry = entries.get(key)
      if (!entry) return
      remember(key)
      entries.delete(key)
      await entry.write(inside, entry.value)
    },
  }
  const inside = executorFor(scope)
  return {
    /** The batch's executor, its transactions' `tx`. */
    inside,
    /** A transaction begins (its savepoint is set). */
    begin: () => {
      undo = []
    },
    /** It was released: its changes stand. */
    release: () => {
      undo = null
    },
    /** It was rolled back to its savepoint: so are its changes to the scope. */
    rollBack: () => {
      for (const [key, entry] of (undo ?? []).reverse()) {
        if (entry) entries.set(key, entry)
        else entries.delete(key)
      }
      undo = null
    },
    /** Before the COMMIT: every value kept, written. */
    async writeAll() {
      for (const [key, entry] of entries) {
        entries.delete(key)
        await entry.write(inside, entry.value)
      }
    },
  }
}
