import type { AuditDraft, FailureToCount } from '@flexsecure/core'
import { sql } from 'kysely'
import { param, prepare } from './prepared-query.js'
import type { SqlExecutor } from './sql-executor.js'
import type { StoreContext } from './store-context.js'

// A user's consecutive failures (S17) in SQL, inside the caller's transaction: counted by the user store's
// `recordFailure` and with a wrong PIN's attempt (`settlePinAttempt`), cleared with a success.

export function failureStreakQueries(ctx: StoreContext) {
  const { db, dialect } = ctx
  const addFailure = dialect.updateReturning<
    { id: string; at: number },
    { failure_streak: number },
    'fs_users'
  >(
    db
      .updateTable('fs_users')
      .set((eb) => ({ failure_streak: eb('failure_streak', '+', 1), updated_at: param('at') }))
      .where('id', '=', param('id')),
    { table: 'fs_users', key: 'id', columns: ['failure_streak'] },
  )
  // Run only when the failure brings a delay or the lock: the first failures of a streak are free (S17).
  const applyFailure = prepare<{ id: string; retry_after: number | null; lock: number }>(
    db
      .updateTable('fs_users')
      .set({
        // Never shorten a delay already running.
        retry_after: sql`CASE WHEN ${sql.ref('retry_after')} IS NULL OR ${sql.ref('retry_after')} < ${param('retry_after')} THEN ${param('retry_after')} ELSE ${sql.ref('retry_after')} END`,
        status: sql`CASE WHEN ${param('lock')} = 1 THEN 'locked' ELSE ${sql.ref('status')} END`,
      })
      .where('id', '=', param('id')),
  )
  const resetFailures = prepare<{ id: string }>(
    db
      .updateTable('fs_users')
      .set({ failure_streak: 0, retry_after: null })
      .where('id', '=', param('id'))
      .where((eb) => eb.or([eb('failure_streak', '>', 0), eb('retry_after', 'is not', null)])),
  )

  return {
    /** One more failure of `failure.userId`, with `audit` (and the lock's, when it locks). */
    async count(
      tx: SqlExecutor,
      failure: FailureToCount,
      audit: readonly AuditDraft[],
    ): Promise<{ streak: number; locked: boolean }> {
      const [row] = await addFailure.run(tx, { id: failure.userId, at: failure.at })
      if (!row) {
        await ctx.appendAudit(tx, audit)
        return { streak: 0, locked: false }
      }
      const streak = Number(row.failure_streak)
      const { retryAfter, lock } = failure.decide(streak)
      if (retryAfter !== null || lock)
        await tx.run(
          applyFailure.sql,
          applyFailure.bind({ id: failure.userId, retry_after: retryAfter, lock: lock ? 1 : 0 }),
        )
      await ctx.appendAudit(tx, lock ? [...audit, failure.lockAudit(streak)] : audit)
      return { streak, locked: lock }
    },
    /** Clears the user's streak and delay, when there is one. */
    async reset(tx: SqlExecutor, userId: string): Promise<void> {
      await tx.run(resetFailures.sql, resetFailures.bind({ id: userId }))
    },
  }
}
