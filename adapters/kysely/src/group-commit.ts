import type { SqlExecutor } from './sql-executor.js'

/** One database connection whose statements run one at a time (better-sqlite3's is synchronous). */
export interface SingleConnection {
  all<Row>(sql: string, parameters: readonly unknown[]): Row[]
  run(sql: string, parameters: readonly unknown[]): number
  /** Whether a transaction is open: the database ends one on its own after some errors (a full disk). */
  inTransaction(): boolean
}

export interface GroupCommitOptions {
  /** Opens the shared transaction. Default `BEGIN IMMEDIATE` (SQLite: the write lock up front). */
  readonly begin?: string
  /** Transactions per batch at most, so another process waiting for the write lock gets its turn. */
  readonly maxBatch?: number
  /** How often a transaction whose batch the database rolled back under it runs again. Default 3. */
  readonly attempts?: number
}

/** What the executor has done, for tests and the statements bench. */
export interface GroupCommitStats {
  /** Commits of a shared transaction. */
  batches: number
  /** Transactions and statements that ran inside them. */
  jobs: number
}

interface Job {
  readonly work: (tx: SqlExecutor) => Promise<unknown>
  /** Several statements: isolated by a savepoint, so its failure undoes only its own writes. */
  readonly isolated: boolean
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
  attempts: number
  outcome?: { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown }
}

/**
 * Group commit (issue 16, ARCHITECTURE §7): the transactions that arrive while one is being written share
 * one database transaction, each inside a savepoint of its own, and one COMMIT. A transaction arriving on
 * an idle connection waits for the event loop's next turn, so every login in flight that reached its
 * write by then joins it. Each caller gets its answer only after the shared COMMIT returned: a result is
 * never seen before it is durable (with `synchronous=FULL`, on the disk), so the outbox row exists before
 * a notifier is called (S37).
 *
 * Isolation: one caller's transaction runs at a time, from its savepoint to its release, so it sees the
 * committed database plus what earlier transactions of the batch wrote, exactly as if they had committed
 * one after another. A transaction that throws is rolled back to its savepoint, the others stand. If the
 * database ends the whole transaction under it (SQLITE_FULL, SQLITE_IOERR), that caller gets its error and
 * the others of the batch run again in a new one; if the COMMIT fails, every caller of the batch gets
 * that error and nothing of the batch was written.
 *
 * Reads outside a transaction run at once while no batch is open; during one they join it (seeing what it
 * wrote) and are answered after its COMMIT.
 */
export function groupCommitExecutor(
  conn: SingleConnection,
  options: GroupCommitOptions = {},
): SqlExecutor & { readonly stats: GroupCommitStats } {
  const begin = options.begin ?? 'BEGIN IMMEDIATE'
  const maxBatch = options.maxBatch ?? 256
  const maxAttempts = options.attempts ?? 3
  const stats: GroupCommitStats = { batches: 0, jobs: 0 }
  const queue: Job[] = []
  let scheduled = false
  let open = false

  // Inside a batch the connection is the caller's: statements run directly; nested transactions flatten.
  const inside: SqlExecutor = {
    all: async (sql, parameters) => conn.all(sql, parameters),
    run: async (sql, parameters) => conn.run(sql, parameters),
    transaction: (work) => work(inside),
  }

  const enqueue = <T>(work: (tx: SqlExecutor) => Promise<T>, isolated: boolean): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push({ work, isolated, resolve: resolve as (value: unknown) => void, reject, attempts: 0 })
      if (!scheduled) {
        scheduled = true
        setImmediate(drain)
      }
    })

  async function drain(): Promise<void> {
    try {
      while (queue.length > 0) await runBatch()
    } finally {
      scheduled = false
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
    const done: Job[] = []
    let current: Job | undefined
    try {
      while (queue.length > 0 && done.length < maxBatch) {
        const job = queue.shift() as Job
        current = job
        job.attempts += 1
        if (job.isolated) conn.run('SAVEPOINT fs_job', [])
        try {
          job.outcome = { ok: true, value: await job.work(inside) }
          if (job.isolated) conn.run('RELEASE fs_job', [])
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
          if (job.isolated) {
            conn.run('ROLLBACK TO fs_job', [])
            conn.run('RELEASE fs_job', [])
          }
        }
        done.push(job)
        current = undefined
      }
      try {
        conn.run('COMMIT', [])
      } catch (error) {
        quietly('ROLLBACK')
        for (const job of done) job.reject(error)
        return
      }
      stats.batches += 1
      stats.jobs += done.length
      for (const job of done) settle(job)
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
    async all<Row>(sql: string, parameters: readonly unknown[]) {
      if (!open && !/^\s*(insert|update|delete|replace)\b/i.test(sql)) return conn.all<Row>(sql, parameters)
      return enqueue(async (tx) => tx.all<Row>(sql, parameters), false)
    },
    run: (sql, parameters) => enqueue((tx) => tx.run(sql, parameters), false),
    transaction: (work) => enqueue(work, true),
  }
}
