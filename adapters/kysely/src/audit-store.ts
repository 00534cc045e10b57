import {
  type AuditDraft,
  type AuditEvent,
  type AuditStore,
  auditDraftsByAccount,
  chainAuditDrafts,
  type SealedHead,
  StorageError,
  sealAuditDrafts,
} from '@flexsecure/core'
import { param, prepare } from './prepared-query.js'
import { AUDIT_COLUMNS, toAuditEvent } from './row-mapping.js'
import { type BatchScope, DEFERRED, type SqlExecutor } from './sql-executor.js'
import type { SqlContext, StoreContext } from './store-context.js'

// The audit trail in SQL (S27): one chain per account, whose head row (`fs_audit_heads`) every append
// moves first. That write locks the head, so appends to one account run one after the other and
// numbers are gap-free; core's `sealAuditDrafts` numbers and seals while the lock is held, and the
// events and the new head are written in the transaction of the change they record.
//
// Under group commit (a transaction with a `batch` scope) the batch's first append to an account locks
// and reads the head, later ones continue from the head the scope keeps, and the head is written and
// sealed once, before the shared COMMIT (ARCHITECTURE §7): two statements and an HMAC per batch and
// account instead of per transaction. Whatever reads the head settles the scope first (`getAuditHead`,
// `purgeAudit`).

/** The scope key of an account's head under group commit. */
const headKey = (accountId: string) => `audit-head:${accountId}`

type HeadRow = { seq: number; mac: string | null; anchor_seq: number; anchor_mac: string | null }

/** The chain's writer, which every store appends through (StoreContext's `appendAudit`). */
export function auditChain(ctx: SqlContext): Pick<StoreContext, 'appendAudit' | 'openAuditChain'> {
  const { db, dialect } = ctx
  const insertHead = prepare<{ account_id: string; head_mac: string }>(
    db.insertInto('fs_audit_heads').values({
      account_id: param('account_id'),
      seq: 0,
      mac: null,
      anchor_mac: null,
      head_mac: param('head_mac'),
    }),
  )
  // Moves the head past the new events, which write-locks it until the transaction ends.
  const advanceHead = dialect.updateReturning<
    { account_id: string; count: number },
    HeadRow,
    'fs_audit_heads'
  >(
    db
      .updateTable('fs_audit_heads')
      .set((eb) => ({ seq: eb('seq', '+', param<number>('count')) }))
      .where('account_id', '=', param('account_id')),
    { table: 'fs_audit_heads', key: 'account_id', columns: ['seq', 'mac', 'anchor_seq', 'anchor_mac'] },
  )
  const setHeadMac = prepare<{ account_id: string; mac: string; head_mac: string }>(
    db
      .updateTable('fs_audit_heads')
      .set({ mac: param('mac'), head_mac: param('head_mac') })
      .where('account_id', '=', param('account_id')),
  )
  // Group commit: the batch's first append locks the head (a write that changes nothing) and reads it...
  const lockHead = dialect.lockRow<{ account_id: string }, HeadRow, 'fs_audit_heads'>({
    table: 'fs_audit_heads',
    key: 'account_id',
    columns: ['seq', 'mac', 'anchor_seq', 'anchor_mac'],
    touch: 'seq',
  })
  // ...and the head the batch ends on is written once, before its COMMIT.
  const setHead = prepare<{ account_id: string; seq: number; mac: string | null; head_mac: string }>(
    db
      .updateTable('fs_audit_heads')
      .set({ seq: param('seq'), mac: param('mac'), head_mac: param('head_mac') })
      .where('account_id', '=', param('account_id')),
  )
  const writeHead = async (tx: SqlExecutor, head: SealedHead) => {
    await tx.run(
      setHead.sql,
      setHead.bind({
        account_id: head.accountId,
        seq: head.seq,
        mac: head.mac,
        head_mac: ctx.sealer().head(head),
      }),
    )
  }

  // The parameter names of the i-th row of a multi-row audit insert, e.g. `seq_2`.
  const paramNames: string[][] = []
  const paramNamesOf = (i: number): string[] =>
    (paramNames[i] ??= AUDIT_COLUMNS.map((column) => `${column}_${i}`))

  type HeadValues = { account_id: string; mac: string; head_mac: string }
  /** Where one parameter of an audit insert comes from, and what it is called in an error. */
  type Source = {
    readonly name: string
    readonly value: (events: readonly AuditEvent[], head: HeadValues | null) => unknown
  }
  type AuditInsert = { readonly sql: string; readonly sources: readonly Source[] }
  const inserts = new Map<string, AuditInsert>()

  /**
   * An audit insert compiled once per row count (at most `auditRowsPerStatement` of each kind), with
   * where each of its parameters comes from: the i-th row's value of a column, the head's, or a constant
   * of the query. A call then lays out its parameters by position, without an object of named values per
   * statement (the largest allocation of a login's writes: 15 named values a row).
   */
  function insertOf(count: number, withHead: boolean): AuditInsert {
    const key = `${count}:${withHead}`
    let insert = inserts.get(key)
    if (!insert) {
      const values = Array.from({ length: count }, (_, i) =>
        Object.fromEntries(AUDIT_COLUMNS.map((column, c) => [column, param(paramNamesOf(i)[c] as string)])),
      ) as Record<(typeof AUDIT_COLUMNS)[number], never>[]
      const rows = db.insertInto('fs_audit_events').values(values)
      const query = withHead
        ? prepare(
            db
              .with('events', () => rows)
              .updateTable('fs_audit_heads')
              .set({ mac: param('mac'), head_mac: param('head_mac') })
              .where('account_id', '=', param('account_id')),
          )
        : prepare(rows)
      // Binding each placeholder's name to its source reads the layout off the compiled query; whatever
      // else `bind` gives back is a constant of the query.
      const named: Record<string, Source> = {}
      for (let i = 0; i < count; i++)
        AUDIT_COLUMNS.forEach((column, c) => {
          const name = paramNamesOf(i)[c] as string
          const value = AUDIT_VALUES[column]
          named[name] = { name, value: (events) => value(events[i] as AuditEvent) }
        })
      for (const field of ['account_id', 'mac', 'head_mac'] as const)
        named[field] = { name: `the head's ${field}`, value: (_, head) => head?.[field] }
      const sources = new Set(Object.values(named))
      insert = {
        sql: query.sql,
        sources: query
          .bind(named)
          .map((slot) =>
            sources.has(slot as Source) ? (slot as Source) : { name: 'a constant', value: () => slot },
          ),
      }
      inserts.set(key, insert)
    }
    return insert
  }

  /**
   * Inserts sealed events (several rows per statement where the dialect batches) and moves the head's
   * MAC. Where a statement may write two tables (a writable CTE), the last rows and the head go in one
   * statement: a round trip less on every audited transaction.
   */
  async function write(
    tx: SqlExecutor,
    events: readonly AuditEvent[],
    head: HeadValues | null,
  ): Promise<void> {
    const perStatement = dialect.auditRowsPerStatement
    for (let from = 0; from < events.length; from += perStatement) {
      const chunk = events.slice(from, from + perStatement)
      const last = from + chunk.length === events.length
      const withHead = last && head !== null
      const insert = insertOf(chunk.length, withHead && dialect.writableCte)
      const parameters = insert.sources.map((source) => {
        const value = source.value(chunk, head)
        if (value === undefined) throw new TypeError(`no value for the audit insert's ${source.name}`)
        return value
      })
      await tx.run(insert.sql, parameters)
      if (withHead && !dialect.writableCte) await tx.run(setHeadMac.sql, setHeadMac.bind(head))
    }
  }

  /** One account's drafts appended under group commit: the head from the batch's scope, written at its end. */
  async function appendInBatch(
    tx: SqlExecutor,
    batch: BatchScope,
    accountId: string,
    drafts: readonly AuditDraft[],
  ): Promise<void> {
    const key = headKey(accountId)
    let head = batch.get<SealedHead>(key)
    if (!head) {
      const [row] = await lockHead.run(tx, { account_id: accountId })
      if (!row) throw new StorageError(`no audit trail for account ${accountId}`)
      head = {
        accountId,
        seq: Number(row.seq),
        mac: row.mac ?? null,
        anchorSeq: Number(row.anchor_seq ?? 0),
        anchorMac: row.anchor_mac ?? null,
      }
    }
    const chained = chainAuditDrafts(ctx.sealer(), head, drafts)
    await write(tx, chained.events, null)
    batch.set(key, chained.head, writeHead)
  }

  return {
    async appendAudit(tx, drafts) {
      if (drafts.length === 0) return
      const sealer = ctx.sealer()
      for (const [accountId, list] of auditDraftsByAccount(drafts)) {
        if (tx.batch) {
          await appendInBatch(tx, tx.batch, accountId, list)
          continue
        }
        const [moved] = await advanceHead.run(tx, { account_id: accountId, count: list.length })
        if (!moved) throw new StorageError(`no audit trail for account ${accountId}`)
        // The head as it was before this move: the chain the drafts join.
        const head = {
          accountId,
          seq: Number(moved.seq) - list.length,
          mac: moved.mac ?? null,
          anchorSeq: Number(moved.anchor_seq ?? 0),
          anchorMac: moved.anchor_mac ?? null,
        }
        const sealed = sealAuditDrafts(sealer, head, list)
        await write(tx, sealed.events, {
          account_id: accountId,
          mac: sealed.head.mac as string,
          head_mac: sealed.head.headMac as string,
        })
      }
    },
    async openAuditChain(tx, accountId) {
      const sealed = sealAuditDrafts(
        ctx.sealer(),
        { accountId, seq: 0, mac: null, anchorSeq: 0, anchorMac: null },
        [],
      )
      await tx.run(
        insertHead.sql,
        insertHead.bind({ account_id: accountId, head_mac: sealed.head.headMac as string }),
      )
    },
  }
}

/** Each column's value of a stored event, read straight off the event: details as JSON text. */
const AUDIT_VALUES: Readonly<Record<(typeof AUDIT_COLUMNS)[number], (event: AuditEvent) => unknown>> = {
  account_id: (event) => event.accountId,
  seq: (event) => event.seq,
  at: (event) => event.at,
  type: (event) => event.type,
  actor: (event) => event.actor,
  system: (event) => event.system,
  authid: (event) => event.authid,
  challenge_id: (event) => event.challengeId,
  outcome: (event) => event.outcome,
  reason: (event) => event.reason,
  ip: (event) => event.ip,
  user_agent: (event) => event.userAgent,
  details: (event) => (event.details === null ? null : JSON.stringify(event.details)),
  prev_mac: (event) => event.prevMac,
  mac: (event) => event.mac,
}

/** The port's audit store: reading the trail, its head, and purging its oldest events. */
export function auditStore(ctx: StoreContext): AuditStore {
  const { db, exec, dialect, guard } = ctx
  const getHead = prepare<{ account_id: string }>(
    db
      .selectFrom('fs_audit_heads')
      .select(['seq', 'mac', 'anchor_seq', 'anchor_mac', 'head_mac'])
      .where('account_id', '=', param('account_id')),
  )
  // Locks the head (a write that changes nothing) and reads it: purges of one account run in turn.
  const lockAnchor = dialect.lockRow<{ account_id: string }, Omit<HeadRow, 'anchor_mac'>, 'fs_audit_heads'>({
    table: 'fs_audit_heads',
    key: 'account_id',
    columns: ['seq', 'mac', 'anchor_seq'],
    touch: 'anchor_seq',
  })
  const lastBefore = prepare<{ account_id: string; before: number }>(
    db
      .selectFrom('fs_audit_events')
      .select(['seq', 'mac'])
      .where('account_id', '=', param('account_id'))
      .where('at', '<', param('before'))
      .orderBy('seq', 'desc')
      .limit(1),
  )
  const deleteThrough = prepare<{ account_id: string; seq: number }>(
    db
      .deleteFrom('fs_audit_events')
      .where('account_id', '=', param('account_id'))
      .where('seq', '<=', param('seq')),
  )
  const setAnchor = prepare<{ account_id: string; seq: number; mac: string; head_mac: string }>(
    db
      .updateTable('fs_audit_heads')
      .set({ anchor_seq: param('seq'), anchor_mac: param('mac'), head_mac: param('head_mac') })
      .where('account_id', '=', param('account_id'))
      .where('anchor_seq', '<', param('seq')),
  )

  return {
    appendAudit: (audit, durability) =>
      guard('appendAudit', () =>
        exec.transaction(
          (tx) => ctx.appendAudit(tx, audit),
          durability === 'deferred' ? DEFERRED : undefined,
        ),
      ),
    listAudit: (query) =>
      guard('listAudit', async () => {
        // Admin queries vary in shape, so this one is compiled per call; it is not on the login path.
        let select = db
          .selectFrom('fs_audit_events')
          .select(AUDIT_COLUMNS)
          .where('account_id', '=', query.accountId)
          .where('seq', '>', query.after ?? 0)
        if (query.since !== undefined) select = select.where('at', '>=', query.since)
        if (query.until !== undefined) select = select.where('at', '<', query.until)
        if (query.system !== undefined) select = select.where('system', '=', query.system)
        if (query.authid !== undefined) select = select.where('authid', '=', query.authid)
        if (query.type !== undefined) select = select.where('type', '=', query.type)
        if (query.outcome !== undefined) select = select.where('outcome', '=', query.outcome)
        const compiled = select.orderBy('seq').limit(query.limit).compile()
        return (await exec.all(compiled.sql, compiled.parameters)).map(toAuditEvent)
      }),
    getAuditHead: (accountId) =>
      guard('getAuditHead', () =>
        // A transaction, so that under group commit the batch's head is written before it is read, and
        // answered once the head it read is on the disk: a signed checkpoint (S34) never names a head
        // that a power loss could take back.
        exec.transaction(async (tx) => {
          await tx.batch?.settle(headKey(accountId))
          const [r] = await tx.all(getHead.sql, getHead.bind({ account_id: accountId }))
          return r
            ? {
                seq: Number(r.seq),
                mac: (r.mac as string | null) ?? null,
                anchorSeq: Number(r.anchor_seq ?? 0),
                anchorMac: (r.anchor_mac as string | null) ?? null,
                headMac: (r.head_mac as string | null) ?? null,
              }
            : null
        }),
      ),
    purgeAudit: (accountId, before, audit: readonly AuditDraft[]) =>
      guard('purgeAudit', () =>
        exec.transaction(async (tx) => {
          const sealer = ctx.sealer()
          // Lock the head first: two purges at once (runDue in several processes) then run one after
          // the other, and the second sees the first's anchor, never moving it backwards.
          await tx.batch?.settle(headKey(accountId))
          const [head] = await lockAnchor.run(tx, { account_id: accountId })
          if (!head) return 0
          const [last] = await tx.all<{ seq: number; mac: string }>(
            lastBefore.sql,
            lastBefore.bind({ account_id: accountId, before }),
          )
          if (!last || Number(last.seq) <= Number(head.anchor_seq)) return 0
          const seq = Number(last.seq)
          const purged = await tx.run(deleteThrough.sql, deleteThrough.bind({ account_id: accountId, seq }))
          const head_mac = sealer.head({
            accountId,
            seq: Number(head.seq),
            mac: head.mac,
            anchorSeq: seq,
            anchorMac: last.mac,
          })
          await tx.run(setAnchor.sql, setAnchor.bind({ account_id: accountId, seq, mac: last.mac, head_mac }))
          await ctx.appendAudit(tx, audit)
          return purged
        }),
      ),
  }
}
