import type { SendLimit } from '@flexsecure/core'
import { type Kysely, sql } from 'kysely'
import { AUDIT_ROWS_PER_STATEMENT, type RowsStatement, type SqlDialect } from './dialect.js'
import { dueDeliveries, UNFINISHED } from './outbox-queries.js'
import { literals, type PreparedQuery, param, prepare } from './prepared-query.js'
import { CHALLENGE_COLUMNS, DELIVERY_COLUMNS, LIVE } from './row-mapping.js'
import type { Database } from './schema.js'
import type { SqlExecutor, WriteOptions } from './sql-executor.js'

/**
 * What one server of the standard family can do beyond the standard statements. They are options of
 * this dialect rather than dialects of their own: PostgreSQL and SQLite speak the same SQL for every
 * statement that differs from MySQL, and these only change how many statements or round trips a
 * call takes (or, for SKIP LOCKED, which rows a claim takes), not what it means.
 */
export interface StandardAbilities {
  /**
   * The outbox's claim may say `FOR UPDATE SKIP LOCKED` (PostgreSQL), so that instances claiming at
   * once take different rows instead of queueing on the same ones. Default false.
   */
  readonly skipLocked?: boolean
  /** A statement may write two tables through a writable CTE (PostgreSQL). Default false. */
  readonly writableCte?: boolean
  /**
   * Every statement costs a round trip to a server (PostgreSQL): the send limits and the audit rows of
   * a transaction then go in one statement each. SQLite runs one row per statement, which is cheaper
   * there than the CASE a multi-row upsert needs. Default false.
   */
  readonly batchWrites?: boolean
}

/** A statement of one SQL text, which needs no transaction of its own. */
function single<Args extends object, Row>(query: PreparedQuery<Args>): RowsStatement<Args, Row> {
  const run = (tx: SqlExecutor, args: Args, options?: WriteOptions) =>
    tx.all<Row>(query.sql, query.bind(args), options)
  return { run, runAlone: run }
}

/** The dialect of SQLite and PostgreSQL (and any database with their RETURNING and ON CONFLICT). */
export function standardDialect(db: Kysely<Database>, abilities: StandardAbilities = {}): SqlDialect {
  // biome-ignore lint/suspicious/noExplicitAny: built for whichever table the caller names; its columns are checked by ReadBack
  const anyDb = db as Kysely<any>
  return {
    updateReturning: (update, readBack) =>
      // biome-ignore lint/suspicious/noExplicitAny: the columns are the updated table's (ReadBack checks them)
      single(prepare(update.returning(readBack.columns as any))),
    lockRow: (lock) => {
      const {
        table,
        key,
        columns,
        touch,
      }: { table: string; key: string; columns: readonly string[]; touch: string } = lock
      return single(
        prepare(
          anyDb
            .updateTable(table)
            .set((eb) => ({ [touch]: eb.ref(touch) }))
            .where(key, '=', param(key))
            .returning(columns),
        ),
      )
    },
    upsert: (insert, conflict, set) =>
      // The same values on conflict as the caller typed for its table (`excluded` is not used).
      prepare(insert.onConflict((oc) => oc.columns(conflict).doUpdateSet(set as never))),
    takeSendLimits: sendLimits(db, abilities.batchWrites === true),
    expireDue: single(
      prepare(
        db
          .updateTable('fs_challenges')
          .set({ status: 'expired', completed_at: param('at') })
          .where('id', 'in', (sub) =>
            sub
              .selectFrom('fs_challenges')
              .select('id')
              .where('status', 'in', literals(LIVE))
              .where('expires_at', '<=', param('at'))
              .limit(param('limit')),
          )
          .where('status', 'in', literals(LIVE))
          .returning(CHALLENGE_COLUMNS),
      ),
    ),
    claimDeliveries: single(
      prepare(
        db
          .updateTable('fs_deliveries')
          .set((eb) => ({
            attempts: eb('attempts', '+', 1),
            claimed_until: param('until'),
            updated_at: param('at'),
          }))
          .where('id', 'in', () => {
            const due = dueDeliveries(db, 'challenge').limit(param('limit'))
            return abilities.skipLocked ? due.forUpdate('d').skipLocked() : due
          })
          // Again on the row itself: under PostgreSQL's READ COMMITTED, this is re-checked on the newest version.
          .where('status', 'in', literals(UNFINISHED))
          .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', param('at'))]))
          .returning(DELIVERY_COLUMNS),
      ),
    ),
    cancelDeliveries: single(
      prepare(
        db
          .updateTable('fs_deliveries')
          .set({ status: 'cancelled', payload: null, claimed_until: null, updated_at: param('at') })
          .where('id', 'in', () => dueDeliveries(db, 'ended').limit(param('limit')))
          .where('status', 'in', literals(UNFINISHED))
          .returning(DELIVERY_COLUMNS),
      ),
    ),
    auditRowsPerStatement: abilities.batchWrites ? AUDIT_ROWS_PER_STATEMENT : 1,
    writableCte: abilities.writableCte === true,
  }
}

/**
 * The send limits as upserts. With `batchWrites`, all but the account's own limit go in one
 * multi-row upsert returning the keys it took; otherwise one upsert per counter, whose count of rows
 * written says whether it took the send.
 */
function sendLimits(db: Kysely<Database>, batchWrites: boolean): SqlDialect['takeSendLimits'] {
  const upserts = new Map<number, PreparedQuery>()
  // Compiled once per number of counters.
  function upsertOf(count: number): PreparedQuery {
    let query = upserts.get(count)
    if (!query) {
      const indexes = Array.from({ length: count }, (_, i) => i)
      const ended = sql`${sql.ref('fs_rate_limits.window_end')} <= ${param('now')}`
      // Each counter's own limit, picked by its key: the upsert sees only the row and its `excluded`.
      const limitOf =
        count === 1
          ? sql`CAST(${param('limit_0')} AS integer)`
          : sql`CASE ${sql.ref('excluded.key')} ${sql.join(
              indexes.map((i) => sql`WHEN ${param(`key_${i}`)} THEN CAST(${param(`limit_${i}`)} AS integer)`),
              sql` `,
            )} END`
      const upsert = db
        .insertInto('fs_rate_limits')
        .values(
          indexes.map((i) => ({ key: param(`key_${i}`), window_end: param(`window_end_${i}`), count: 1 })),
        )
        .onConflict((oc) =>
          oc
            .column('key')
            .doUpdateSet({
              count: sql`CASE WHEN ${ended} THEN 1 ELSE ${sql.ref('fs_rate_limits.count')} + 1 END`,
              window_end: sql`CASE WHEN ${ended} THEN ${sql.ref('excluded.window_end')} ELSE ${sql.ref('fs_rate_limits.window_end')} END`,
            })
            .where(sql<boolean>`${ended} OR ${sql.ref('fs_rate_limits.count')} < ${limitOf}`),
        )
      query = prepare(count === 1 ? upsert : upsert.returning('key'))
      upserts.set(count, query)
    }
    return query
  }

  return async (tx, limits, now) => {
    const distinct = new Set(limits.map((limit) => limit.key)).size === limits.length
    const groups =
      batchWrites && distinct && limits.length > 2
        ? [limits.slice(0, -1), limits.slice(-1)]
        : limits.map((limit) => [limit])
    for (const group of groups) {
      const query = upsertOf(group.length)
      const args: Record<string, unknown> = { now }
      group.forEach((limit, i) => {
        args[`key_${i}`] = limit.key
        args[`window_end_${i}`] = now + limit.windowMs
        args[`limit_${i}`] = limit.limit
      })
      if (group.length === 1) {
        if ((await tx.run(query.sql, query.bind(args))) !== 1) return group[0] as SendLimit
        continue
      }
      const rows = await tx.all<{ key: string }>(query.sql, query.bind(args))
      const taken = new Set(rows.map((row) => row.key))
      const refused = group.find((limit) => !taken.has(limit.key))
      if (refused) return refused
    }
    return null
  }
}
