import { type Kysely, sql } from 'kysely'
import {
  AUDIT_ROWS_PER_STATEMENT,
  type ReadBack,
  type RowsStatement,
  type SqlDialect,
  type SweepArgs,
  type TableUpdate,
} from './dialect.js'
import { dueDeliveries, UNFINISHED } from './outbox-queries.js'
import { literals, type PreparedQuery, param, prepare } from './prepared-query.js'
import { CHALLENGE_COLUMNS, DELIVERY_COLUMNS, LIVE } from './row-mapping.js'
import type { Database } from './schema.js'
import type { SqlExecutor } from './sql-executor.js'

// MySQL and MariaDB have neither `UPDATE … RETURNING` nor `ON CONFLICT … DO UPDATE … WHERE`, and
// cannot update a table through a LIMIT subquery on itself. Each variant here keeps the guarantee of
// the standard statement it replaces (standard-dialect.ts): the UPDATE takes the row lock first, and
// what is read back afterwards in the same transaction is this transaction's own write.

/** Statements that run in the caller's transaction, or in one of their own when run alone. */
function inTransaction<Args extends object, Row>(
  run: (tx: SqlExecutor, args: Args) => Promise<Row[]>,
): RowsStatement<Args, Row> {
  return { run, runAlone: (exec, args, options) => exec.transaction((tx) => run(tx, args), options) }
}

/** The dialect of MySQL 8 and MariaDB 10.6+. Audit rows are batched: every statement is a round trip. */
export function mysqlDialect(db: Kysely<Database>): SqlDialect {
  // biome-ignore lint/suspicious/noExplicitAny: built for whichever table the caller names; its columns are checked by ReadBack
  const anyDb = db as Kysely<any>
  const readOf = (table: string, key: string, columns: readonly string[]) =>
    anyDb.selectFrom(table).select(columns).where(key, '=', param(key))

  return {
    updateReturning<Args extends object, Row, T extends keyof Database>(
      update: TableUpdate<T>,
      readBack: ReadBack<T>,
    ) {
      const write = prepare<Args>(update)
      const read = prepare<Args>(readOf(readBack.table, readBack.key, readBack.columns))
      return inTransaction<Args, Row>(async (tx, args) => {
        if ((await tx.run(write.sql, write.bind(args))) === 0) return []
        return tx.all<Row>(read.sql, read.bind(args))
      })
    },
    // The lock reads under an exclusive row lock in one statement (a no-op UPDATE would report the row
    // only while the connection counts found rows, mysql2's default that a host may turn off).
    lockRow<Args extends object, Row, T extends keyof Database>(lock: ReadBack<T>) {
      const read = prepare<Args>(readOf(lock.table, lock.key, lock.columns).forUpdate())
      return inTransaction<Args, Row>((tx, args) => tx.all<Row>(read.sql, read.bind(args)))
    },
    upsert: (insert, _conflict, set) => prepare(insert.onDuplicateKeyUpdate(set)),
    takeSendLimits: sendLimits(db),
    ...sweeps(db),
    auditRowsPerStatement: AUDIT_ROWS_PER_STATEMENT,
    // MySQL has no writable CTEs: the audit head moves in a statement of its own.
    writableCte: false,
  }
}

/** A send-limit counter per statement: made to exist and locked, read, then moved. */
function sendLimits(db: Kysely<Database>): SqlDialect['takeSendLimits'] {
  // Makes the counter exist and write-locks it in one step. (INSERT IGNORE would take a shared lock
  // on an existing row, and upgrading it to the FOR UPDATE lock deadlocks concurrent starts.)
  const ensure = prepare<{ key: string }>(
    db
      .insertInto('fs_rate_limits')
      .values({ key: param('key'), window_end: 0, count: 0 })
      .onDuplicateKeyUpdate((eb) => ({ count: eb.ref('count') })),
  )
  const lock = prepare<{ key: string }>(
    db
      .selectFrom('fs_rate_limits')
      .select(['window_end', 'count'])
      .where('key', '=', param('key'))
      .forUpdate(),
  )
  const set = prepare<{ key: string; window_end: number; count: number }>(
    db
      .updateTable('fs_rate_limits')
      .set({ window_end: param('window_end'), count: param('count') })
      .where('key', '=', param('key')),
  )
  return async (tx, limits, now) => {
    for (const limit of limits) {
      await tx.run(ensure.sql, ensure.bind({ key: limit.key }))
      const [row] = await tx.all<{ window_end: number; count: number }>(
        lock.sql,
        lock.bind({ key: limit.key }),
      )
      const ended = Number(row?.window_end ?? 0) <= now
      if (!ended && Number(row?.count ?? 0) >= limit.limit) return limit
      await tx.run(
        set.sql,
        set.bind({
          key: limit.key,
          window_end: ended ? now + limit.windowMs : Number(row?.window_end),
          count: ended ? 1 : Number(row?.count) + 1,
        }),
      )
    }
    return null
  }
}

/**
 * The variants of `UPDATE … WHERE id IN (SELECT … LIMIT n) … RETURNING`: lock the ids, update those
 * still in one of the target's statuses (compiled per call: the id list varies; sweeps are not on the
 * login path), then read them back in the same transaction.
 */
function sweeps(
  db: Kysely<Database>,
): Pick<SqlDialect, 'expireDue' | 'claimDeliveries' | 'cancelDeliveries'> {
  // Up to `limit` due challenges, skipping ones another sweeper holds.
  const dueChallenges = prepare<SweepArgs>(
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
  // Due deliveries, skipping rows another dispatcher holds.
  const claimable = prepare<SweepArgs>(
    dueDeliveries(db, 'challenge').limit(param('limit')).forUpdate().skipLocked(),
  )
  const ended = prepare<SweepArgs>(dueDeliveries(db, 'ended').limit(param('limit')).forUpdate())
  const targets = {
    challenges: { table: 'fs_challenges', statuses: LIVE, columns: CHALLENGE_COLUMNS },
    deliveries: { table: 'fs_deliveries', statuses: UNFINISHED, columns: DELIVERY_COLUMNS },
  } as const

  async function updateLocked(
    tx: SqlExecutor,
    locking: PreparedQuery<SweepArgs>,
    args: SweepArgs,
    target: (typeof targets)[keyof typeof targets],
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
    const read = anyDb.selectFrom(target.table).select(target.columns).where('id', 'in', ids).compile()
    return tx.all(read.sql, read.parameters)
  }

  return {
    expireDue: inTransaction((tx, { at, limit }: SweepArgs) =>
      updateLocked(tx, dueChallenges, { at, limit }, targets.challenges, {
        status: 'expired',
        completed_at: at,
      }),
    ),
    claimDeliveries: inTransaction((tx, args: SweepArgs & { until: number }) =>
      updateLocked(tx, claimable, { at: args.at, limit: args.limit }, targets.deliveries, {
        attempts: sql`attempts + 1`,
        claimed_until: args.until,
        updated_at: args.at,
      }),
    ),
    cancelDeliveries: inTransaction((tx, { at, limit }: SweepArgs) =>
      updateLocked(tx, ended, { at, limit }, targets.deliveries, {
        status: 'cancelled',
        payload: null,
        claimed_until: null,
        updated_at: at,
      }),
    ),
  }
}
