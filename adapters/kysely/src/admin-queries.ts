import type { AdminQueryStore, AuditVerdict, DeliveryListing, LoginCount, UserStatus } from '@flexsecure/core'
import { type Expression, type Kysely, sql } from 'kysely'
import type { ConsoleDatabase } from './console-schema.js'
import { type ConsoleStoreDeps, changedBy, rowsOf } from './console-session-queries.js'
import { literals } from './prepared-query.js'
import {
  AUDIT_COLUMNS,
  DELIVERY_COLUMNS,
  toAuditEvent,
  toDelivery,
  toUser,
  USER_COLUMNS,
} from './row-mapping.js'
import type { SqlExecutor } from './sql-executor.js'

// What administrators' screens read (AdminQueryStore), in SQL. Each query is a range scan on an index
// or on a primary key, so a page costs its rows, not the size of the tables: user search on the
// indexes of migration 0006, the outbox on its partial indexes, the newest audit events on the
// primary key (account, seq) within a window the caller bounds, and login counts on their own table.

const SEARCH_COLUMN = {
  authid: 'authid',
  displayName: 'display_name',
  email: 'email',
  phone: 'phone',
} as const
const WAITING = ['queued', 'failed'] as const
const LIVE = ['pending', 'confirmed'] as const
const LISTED_DELIVERY_COLUMNS = DELIVERY_COLUMNS.filter((column) => column !== 'payload').map(
  (column) => `d.${column}` as const,
)
const COUNTS_PER_INSERT = 100

/** The smallest string above every string that starts with `prefix` (in code point order), or null. */
export function prefixEnd(prefix: string): string | null {
  const points = [...prefix]
  const last = points.pop()?.codePointAt(0)
  if (last === undefined || last >= 0x10ffff) return null
  const next = last + 1 === 0xd800 ? 0xe000 : last + 1
  return points.join('') + String.fromCodePoint(next)
}

/** AdminQueryStore over the shared storage's executor. */
export function adminQueries(deps: ConsoleStoreDeps): AdminQueryStore {
  const db = deps.db as unknown as Kysely<ConsoleDatabase>
  const { exec, guard, appendAudit, dialect } = deps
  /** A text column compared byte-wise: PostgreSQL in the "C" collation (see migration 0006). */
  const text = (column: string): Expression<string> =>
    dialect === 'postgres' ? sql<string>`${sql.ref(column)} collate "C"` : sql<string>`${sql.ref(column)}`

  /** Creates the account's state row unless it exists, within the caller's transaction. */
  const ensureState = (tx: SqlExecutor, accountId: string) => {
    const insert = db.insertInto('fs_admin_state').values({ account_id: accountId, counted_seq: 0 })
    return changedBy(
      tx,
      dialect === 'mysql'
        ? insert.ignore()
        : dialect === 'sqlite'
          ? insert.orIgnore()
          : insert.onConflict((oc) => oc.column('account_id').doNothing()),
    )
  }

  const listing = (r: Record<string, unknown>): DeliveryListing => {
    const { payload: _payload, ...row } = toDelivery(r)
    return {
      ...row,
      system: (r.system_name as string | null) ?? null,
      authid: (r.user_authid as string | null) ?? null,
    }
  }

  return {
    searchUsers: (query) =>
      guard('adminQueries.searchUsers', async () => {
        const column = SEARCH_COLUMN[query.field]
        const key = text(column)
        let select = db.selectFrom('fs_users').select(USER_COLUMNS).where('account_id', '=', query.accountId)
        if (query.status !== undefined) select = select.where('status', '=', query.status)
        if (query.prefix !== '') {
          select = select.where(key, '>=', query.prefix)
          const end = prefixEnd(query.prefix)
          if (end !== null) select = select.where(key, '<', end)
        } else if (column !== 'authid') {
          select = select.where(sql.ref(column), 'is not', null)
        }
        const after = query.after
        // authid is unique in the account, so it orders alone (and the status index ends with it).
        if (after && column === 'authid') select = select.where(key, '>', after.value)
        else if (after)
          select = select.where((eb) =>
            eb.or([eb(key, '>', after.value), eb.and([eb(key, '=', after.value), eb('id', '>', after.id)])]),
          )
        select = column === 'authid' ? select.orderBy(key) : select.orderBy(key).orderBy('id')
        return (await rowsOf(exec, select.limit(query.limit))).map(toUser)
      }),

    countUsers: (accountId: string, status: UserStatus) =>
      guard('adminQueries.countUsers', async () => {
        const [row] = await rowsOf<{ n: number | string }>(
          exec,
          db
            .selectFrom('fs_users')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('account_id', '=', accountId)
            .where('status', '=', status),
        )
        return Number(row?.n ?? 0)
      }),

    listDeliveries: (query) =>
      guard('adminQueries.listDeliveries', async () => {
        const waiting = query.queue === 'waiting'
        let select = db
          .selectFrom('fs_deliveries as d')
          .leftJoin('fs_challenges as c', 'c.id', 'd.challenge_id')
          .select([...LISTED_DELIVERY_COLUMNS, 'c.system_name as system_name', 'c.authid as user_authid'])
          .where('d.account_id', '=', query.accountId)
        const after = query.after
        if (waiting) {
          // Literal statuses, so SQLite sees that its partial index (fs_deliveries_due) applies.
          select = select.where('d.status', 'in', literals(WAITING))
          if (after)
            select = select.where((eb) =>
              eb.or([
                eb('d.next_attempt_at', '>', after.at),
                eb.and([eb('d.next_attempt_at', '=', after.at), eb('d.id', '>', after.id)]),
              ]),
            )
          select = select.orderBy('d.next_attempt_at').orderBy('d.id')
        } else {
          select = select.where('d.status', '=', sql.lit('abandoned'))
          if (after)
            select = select.where((eb) =>
              eb.or([
                eb('d.updated_at', '<', after.at),
                eb.and([eb('d.updated_at', '=', after.at), eb('d.id', '<', after.id)]),
              ]),
            )
          select = select.orderBy('d.updated_at', 'desc').orderBy('d.id', 'desc')
        }
        return (await rowsOf(exec, select.limit(query.limit))).map(listing)
      }),

    countDeliveries: (accountId, since) =>
      guard('adminQueries.countDeliveries', async () => {
        const [waiting] = await rowsOf<{ n: number | string }>(
          exec,
          db
            .selectFrom('fs_deliveries')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('status', 'in', literals(WAITING))
            .where('account_id', '=', accountId),
        )
        const [abandoned] = await rowsOf<{ n: number | string }>(
          exec,
          db
            .selectFrom('fs_deliveries')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('status', '=', sql.lit('abandoned'))
            .where('account_id', '=', accountId)
            .where('updated_at', '>=', since),
        )
        return { waiting: Number(waiting?.n ?? 0), abandoned: Number(abandoned?.n ?? 0) }
      }),

    requeueDelivery: (accountId, id, at, audit) =>
      guard('adminQueries.requeueDelivery', () =>
        exec.transaction(async (tx) => {
          const moved = await changedBy(
            tx,
            db
              .updateTable('fs_deliveries')
              .set({ next_attempt_at: at, updated_at: at })
              .where('id', '=', id)
              .where('account_id', '=', accountId)
              .where('status', 'in', literals(WAITING))
              .where('payload', 'is not', null)
              .where('expires_at', '>', at)
              .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', at)])),
          )
          if (moved !== 1) return false
          await appendAudit(tx, audit)
          return true
        }),
      ),

    countLiveChallenges: (accountId, at) =>
      guard('adminQueries.countLiveChallenges', async () => {
        const [row] = await rowsOf<{ n: number | string }>(
          exec,
          db
            .selectFrom('fs_challenges')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('status', 'in', literals(LIVE))
            .where('expires_at', '>', at)
            .where('account_id', '=', accountId),
        )
        return Number(row?.n ?? 0)
      }),

    newestAudit: (query) =>
      guard('adminQueries.newestAudit', async () => {
        let select = db
          .selectFrom('fs_audit_events')
          .select(AUDIT_COLUMNS)
          .where('account_id', '=', query.accountId)
          .where('seq', '<', query.below)
          .where('seq', '>=', query.atLeast)
        if (query.since !== undefined) select = select.where('at', '>=', query.since)
        if (query.until !== undefined) select = select.where('at', '<', query.until)
        if (query.system !== undefined) select = select.where('system', '=', query.system)
        if (query.authid !== undefined) select = select.where('authid', '=', query.authid)
        if (query.type !== undefined) select = select.where('type', '=', query.type)
        if (query.outcome !== undefined) select = select.where('outcome', '=', query.outcome)
        return (await rowsOf(exec, select.orderBy('seq', 'desc').limit(query.limit))).map(toAuditEvent)
      }),

    auditAtOrAfter: (accountId, seq) =>
      guard('adminQueries.auditAtOrAfter', async () => {
        const [row] = await rowsOf<{ seq: number | string; at: number | string }>(
          exec,
          db
            .selectFrom('fs_audit_events')
            .select(['seq', 'at'])
            .where('account_id', '=', accountId)
            .where('seq', '>=', seq)
            .orderBy('seq')
            .limit(1),
        )
        return row ? { seq: Number(row.seq), at: Number(row.at) } : null
      }),

    adminState: (accountId) =>
      guard('adminQueries.adminState', async () => {
        const [row] = await rowsOf(
          exec,
          db.selectFrom('fs_admin_state').selectAll().where('account_id', '=', accountId),
        )
        if (!row) return { countedSeq: 0, verifiedAt: null, verdict: null }
        const seq = Number(row.verified_seq ?? 0)
        const verdict: AuditVerdict | null =
          row.verified_ok === null || row.verified_ok === undefined
            ? null
            : Number(row.verified_ok) === 1
              ? { ok: true, events: Number(row.verified_events ?? 0), lastSeq: seq }
              : { ok: false, firstBadSeq: seq, problem: String(row.verified_problem ?? '') }
        return {
          countedSeq: Number(row.counted_seq),
          verifiedAt: row.verified_at === null ? null : Number(row.verified_at),
          verdict,
        }
      }),

    addLoginCounts: (accountId, fromSeq, toSeq, counts) =>
      guard('adminQueries.addLoginCounts', () =>
        exec.transaction(async (tx) => {
          await ensureState(tx, accountId)
          // The watermark moves first, conditionally: it also locks the row, so a second process
          // counting the same events waits here and then finds the watermark moved.
          const moved = await changedBy(
            tx,
            db
              .updateTable('fs_admin_state')
              .set({ counted_seq: toSeq })
              .where('account_id', '=', accountId)
              .where('counted_seq', '=', fromSeq),
          )
          if (moved !== 1) return false
          for (let i = 0; i < counts.length; i += COUNTS_PER_INSERT)
            await addCounts(tx, accountId, counts.slice(i, i + COUNTS_PER_INSERT))
          return true
        }),
      ),

    loginCounts: (accountId, fromHour, toHour) =>
      guard('adminQueries.loginCounts', async () =>
        (
          await rowsOf(
            exec,
            db
              .selectFrom('fs_login_counts')
              .select(['hour', 'system', 'succeeded', 'failed'])
              .where('account_id', '=', accountId)
              .where('hour', '>=', fromHour)
              .where('hour', '<', toHour)
              .orderBy('hour'),
          )
        ).map(
          (r): LoginCount => ({
            hour: Number(r.hour),
            system: String(r.system),
            succeeded: Number(r.succeeded),
            failed: Number(r.failed),
          }),
        ),
      ),

    recordVerdict: (accountId, at, verdict) =>
      guard('adminQueries.recordVerdict', () =>
        exec.transaction(async (tx) => {
          await ensureState(tx, accountId)
          await changedBy(
            tx,
            db
              .updateTable('fs_admin_state')
              .set({
                verified_at: at,
                verified_ok: verdict.ok ? 1 : 0,
                verified_seq: verdict.ok ? verdict.lastSeq : verdict.firstBadSeq,
                verified_events: verdict.ok ? verdict.events : null,
                verified_problem: verdict.ok ? null : verdict.problem.slice(0, 512),
              })
              .where('account_id', '=', accountId),
          )
        }),
      ),
  }

  /** Adds counts to their (hour, system) rows, creating the rows that do not exist yet. */
  function addCounts(tx: SqlExecutor, accountId: string, counts: readonly LoginCount[]) {
    const insert = db
      .insertInto('fs_login_counts')
      .values(counts.map((c) => ({ account_id: accountId, ...c })))
    return changedBy(
      tx,
      dialect === 'mysql'
        ? insert.onDuplicateKeyUpdate({
            succeeded: sql`succeeded + values(succeeded)`,
            failed: sql`failed + values(failed)`,
          })
        : insert.onConflict((oc) =>
            oc.columns(['account_id', 'hour', 'system']).doUpdateSet((eb) => ({
              succeeded: eb('fs_login_counts.succeeded', '+', eb.ref('excluded.succeeded')),
              failed: eb('fs_login_counts.failed', '+', eb.ref('excluded.failed')),
            })),
          ),
    )
  }
}
