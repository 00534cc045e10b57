import { type Kysely, sql } from 'kysely'
import { dueDeliveries, UNFINISHED } from './outbox-queries.js'
import { literals, type PreparedQuery, param, prepare } from './prepared-query.js'
import { ACCOUNT_COLUMNS, CHALLENGE_COLUMNS, DELIVERY_COLUMNS } from './row-mapping.js'
import type { Database } from './schema.js'
import type { SqlExecutor } from './sql-executor.js'

// The only dialect-specific statements of the shared storage. MySQL and MariaDB have neither
// `UPDATE … RETURNING` nor `ON CONFLICT … DO UPDATE … WHERE`, and cannot update a table through a
// LIMIT subquery on itself. Each variant keeps the guarantee of the statement it replaces: the UPDATE
// takes the row lock first, and what is read back afterwards in the same transaction is this
// transaction's own write.

/** The `UPDATE … RETURNING` statements of the shared storage. */
export type ReturningUpdate =
  | 'addFailure'
  | 'confirmLink'
  | 'reserveAttempt'
  | 'advanceAuditHead'
  | 'lockAuditHead'
  | 'lockAccount'

// biome-ignore lint/suspicious/noExplicitAny: column lists are checked at run time by the tests
const cols = (list: readonly string[]) => list as any
const LIVE = ['pending', 'confirmed'] as const

export function mysqlVariants(db: Kysely<Database>) {
  const pairs = {
    addFailure: {
      update: prepare(
        db
          .updateTable('fs_users')
          .set((eb) => ({ failure_streak: eb('failure_streak', '+', 1) }))
          .where('id', '=', param('id')),
      ),
      read: prepare(db.selectFrom('fs_users').select('failure_streak').where('id', '=', param('id'))),
    },
    confirmLink: {
      update: prepare(
        db
          .updateTable('fs_challenges')
          .set({ status: 'confirmed', attempts: 0 })
          .where('link_hash', '=', param('link_hash'))
          .where('status', '=', 'pending')
          .where('expires_at', '>', param('at'))
          .where((eb) => eb.or([eb('match_code', 'is', null), eb('match_code', '=', param('match_code'))])),
      ),
      read: prepare(
        db
          .selectFrom('fs_challenges')
          .select(cols(CHALLENGE_COLUMNS))
          .where('link_hash', '=', param('link_hash')),
      ),
    },
    reserveAttempt: {
      update: prepare(
        db
          .updateTable('fs_challenges')
          .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
          .where('id', '=', param('id'))
          .where('status', '=', param('status'))
          .where('expires_at', '>', param('at'))
          .whereRef('attempts', '<', 'max_attempts'),
      ),
      read: prepare(db.selectFrom('fs_challenges').select('attempts').where('id', '=', param('id'))),
    },
    advanceAuditHead: {
      update: prepare(
        db
          .updateTable('fs_audit_heads')
          .set((eb) => ({ seq: eb('seq', '+', param<number>('count')) }))
          .where('account_id', '=', param('account_id')),
      ),
      read: prepare(
        db
          .selectFrom('fs_audit_heads')
          .select(['seq', 'mac', 'anchor_seq', 'anchor_mac'])
          .where('account_id', '=', param('account_id')),
      ),
    },
    // The two locks read under an exclusive row lock in one statement (a no-op UPDATE would report
    // the row only while the connection counts found rows, mysql2's default that a host may turn off).
    lockAccount: {
      update: null,
      read: prepare(
        db.selectFrom('fs_accounts').select(cols(ACCOUNT_COLUMNS)).where('id', '=', param('id')).forUpdate(),
      ),
    },
    lockAuditHead: {
      update: null,
      read: prepare(
        db
          .selectFrom('fs_audit_heads')
          .select(['seq', 'mac', 'anchor_seq'])
          .where('account_id', '=', param('account_id'))
          .forUpdate(),
      ),
    },
  }
  const limits = {
    // Makes the counter exist and write-locks it in one step. (INSERT IGNORE would take a shared lock
    // on an existing row, and upgrading it to the FOR UPDATE lock deadlocks concurrent starts.)
    ensure: prepare<{ key: string }>(
      db
        .insertInto('fs_rate_limits')
        .values({ key: param('key'), window_end: 0, count: 0 })
        .onDuplicateKeyUpdate((eb) => ({ count: eb.ref('count') })),
    ),
    lock: prepare<{ key: string }>(
      db
        .selectFrom('fs_rate_limits')
        .select(['window_end', 'count'])
        .where('key', '=', param('key'))
        .forUpdate(),
    ),
    set: prepare<{ key: string; window_end: number; count: number }>(
      db
        .updateTable('fs_rate_limits')
        .set({ window_end: param('window_end'), count: param('count') })
        .where('key', '=', param('key')),
    ),
  }
  const candidates = prepare<{ at: number; limit: number }>(
    db
      .selectFrom('fs_challenges')
      .select('id')
      .where('status', 'in', literals(LIVE))
      .where('expires_at', '<=', param('at'))
      .orderBy('expires_at')
      .limit(param('limit'))
      .forUpdate()
      .skipLocked(),
  )

  const claimable = prepare<{ at: number; limit: number }>(
    dueDeliveries(db, 'challenge').limit(param('limit')).forUpdate().skipLocked(),
  )
  const ended = prepare<{ at: number; limit: number }>(
    dueDeliveries(db, 'ended').limit(param('limit')).forUpdate(),
  )
  const sweeps = {
    challenges: { table: 'fs_challenges', statuses: LIVE, columns: CHALLENGE_COLUMNS },
    deliveries: { table: 'fs_deliveries', statuses: UNFINISHED, columns: DELIVERY_COLUMNS },
  } as const
  /**
   * The variant of `UPDATE … WHERE id IN (SELECT … LIMIT n) … RETURNING`: lock the ids with
   * `locking`, update those still in one of the target's statuses (compiled per call: the id list
   * varies; sweeps are not on the login path), then read them back in the same transaction.
   */
  async function updateLocked<A extends object>(
    tx: SqlExecutor,
    locking: PreparedQuery<A>,
    args: A,
    target: (typeof sweeps)[keyof typeof sweeps],
    set: Record<string, unknown>,
  ): Promise<Record<string, unknown>[]> {
    const ids = (await tx.all<{ id: string }>(locking.sql, locking.bind(args))).map((r) => r.id)
    if (ids.length === 0) return []
    // biome-ignore lint/suspicious/noExplicitAny: the table is one of the two above
    const anyDb = db as Kysely<any>
    const update = anyDb
      .updateTable(target.table)
      .set(set)
      .where('id', 'in', ids)
      .where('status', 'in', literals(target.statuses))
      .compile()
    await tx.run(update.sql, update.parameters)
    const read = anyDb.selectFrom(target.table).select(cols(target.columns)).where('id', 'in', ids).compile()
    return tx.all(read.sql, read.parameters)
  }

  return {
    /** Locks due deliveries (skipping rows another dispatcher holds) and claims them. */
    async claimDeliveries(
      tx: SqlExecutor,
      args: { at: number; until: number; limit: number },
    ): Promise<Record<string, unknown>[]> {
      return updateLocked(tx, claimable, { at: args.at, limit: args.limit }, sweeps.deliveries, {
        attempts: sql`attempts + 1`,
        claimed_until: args.until,
        updated_at: args.at,
      })
    },
    /** Locks the unfinished deliveries of ended challenges and cancels them. */
    async cancelDeliveries(
      tx: SqlExecutor,
      args: { at: number; limit: number },
    ): Promise<Record<string, unknown>[]> {
      return updateLocked(tx, ended, args, sweeps.deliveries, {
        status: 'cancelled',
        payload: null,
        claimed_until: null,
        updated_at: args.at,
      })
    },

    /** The UPDATE, and when it changed a row, the row read back. */
    async updateThenRead<R>(
      tx: SqlExecutor,
      name: ReturningUpdate,
      args: Record<string, unknown>,
    ): Promise<R[]> {
      const pair: { update: PreparedQuery | null; read: PreparedQuery } = pairs[name]
      if (pair.update && (await tx.run(pair.update.sql, pair.update.bind(args as never))) === 0) return []
      return tx.all<R>(pair.read.sql, pair.read.bind(args as never))
    },

    /** A send-limit counter: made to exist and locked, read, then moved. Returns 1 when a unit was taken. */
    async takeLimit(
      tx: SqlExecutor,
      args: { key: string; now: number; window_end: number; limit: number },
    ): Promise<number> {
      await tx.run(limits.ensure.sql, limits.ensure.bind({ key: args.key }))
      const [row] = await tx.all<{ window_end: number; count: number }>(
        limits.lock.sql,
        limits.lock.bind({ key: args.key }),
      )
      const ended = Number(row?.window_end ?? 0) <= args.now
      if (!ended && Number(row?.count ?? 0) >= args.limit) return 0
      await tx.run(
        limits.set.sql,
        limits.set.bind({
          key: args.key,
          window_end: ended ? args.window_end : Number(row?.window_end),
          count: ended ? 1 : Number(row?.count) + 1,
        }),
      )
      return 1
    },

    /** Locks up to `limit` due challenges (skipping ones another sweeper holds), expires and returns them. */
    async expireDue(tx: SqlExecutor, at: number, limit: number): Promise<Record<string, unknown>[]> {
      return updateLocked(tx, candidates, { at, limit }, sweeps.challenges, {
        status: 'expired',
        completed_at: at,
      })
    },

    upsertAssignment: prepare<{ user_id: string; system_id: string; method: string; channel: string | null }>(
      db
        .insertInto('fs_assignments')
        .values({
          user_id: param('user_id'),
          system_id: param('system_id'),
          method: param('method'),
          channel: param('channel'),
          challenge_id: null,
          previous_challenge_id: null,
        })
        .onDuplicateKeyUpdate({ method: param('method'), channel: param('channel') }),
    ),
  }
}
