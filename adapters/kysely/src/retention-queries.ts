import type { Kysely } from 'kysely'
import type { Database } from './schema.js'
import type { SqlExecutor } from './sql-executor.js'

/** Challenge states that are over: nothing will move them again. */
const ENDED = ['authenticated', 'failed', 'expired', 'superseded'] as const

/**
 * S35: deletes up to `limit` challenges that ended and expired before `before`, with every delivery
 * of theirs (final by then: the outbox cancels what an ended challenge left unsent), in one
 * transaction; returns how many challenges went. The audit trail keeps its events. Compiled per call:
 * the sweep is not on the login path. PostgreSQL and MySQL find the rows on the `(status, expires_at)`
 * index of migration 0001, SQLite on `fs_challenges_expiry` (migration 0008).
 */
export function purgeEndedChallenges(
  db: Kysely<Database>,
  exec: SqlExecutor,
  before: number,
  limit: number,
): Promise<number> {
  return exec.transaction(async (tx) => {
    const pick = db
      .selectFrom('fs_challenges')
      .select('id')
      .where('status', 'in', [...ENDED])
      .where('expires_at', '<', before)
      .limit(limit)
      .compile()
    const ids = (await tx.all<{ id: string }>(pick.sql, pick.parameters)).map((row) => row.id)
    if (ids.length === 0) return 0
    const deliveries = db.deleteFrom('fs_deliveries').where('challenge_id', 'in', ids).compile()
    await tx.run(deliveries.sql, deliveries.parameters)
    // Again on the status: a row cannot come back to life, but the condition costs nothing.
    const challenges = db
      .deleteFrom('fs_challenges')
      .where('id', 'in', ids)
      .where('status', 'in', [...ENDED])
      .compile()
    return tx.run(challenges.sql, challenges.parameters)
  })
}
