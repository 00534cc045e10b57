import type { AuditDraft, DeliveryOutcome, OutboxStore, StorageInspector } from '@flexsecure/core'
import { sql } from 'kysely'
import { UNFINISHED } from './outbox-queries.js'
import { literals, param, prepare } from './prepared-query.js'
import { DELIVERY_COLUMNS, deliveryParams, toDelivery } from './row-mapping.js'
import { DEFERRED } from './sql-executor.js'
import { columnParams, type StoreContext } from './store-context.js'

// The outbox in SQL: claiming due deliveries, writing the outcome of each send (one by one, or a
// batch in one transaction), cancelling what an ended challenge left unsent. The claim and the
// cancel differ by dialect (dialect.ts); the rest is shared.

/** The named values of `finishDelivery`'s UPDATE for one outcome. */
function finishArgs(outcome: DeliveryOutcome): Record<string, unknown> {
  return {
    id: outcome.id,
    attempt: outcome.attempt,
    to: outcome.to,
    next_attempt_at: outcome.nextAttemptAt ?? null,
    provider_id: outcome.providerId,
    last_error: outcome.lastError,
    // A final delivery keeps no payload: the secret it carried is gone from the database.
    wipe: outcome.to === 'failed' ? 0 : 1,
    at: outcome.at,
  }
}

/** Thrown inside finishDelivery's transaction to roll it back when the fallback's challenge ended. */
const NOT_PENDING = Symbol('the challenge is no longer pending')

export function outboxStore(ctx: StoreContext): OutboxStore {
  const { db, exec, dialect, guard } = ctx
  // Fenced on the attempt it reports and on an unfinished status: a late or repeated outcome moves nothing.
  const finish = prepare<Record<string, unknown>>(
    db
      .updateTable('fs_deliveries')
      .set({
        status: param('to'),
        next_attempt_at: sql`COALESCE(${param('next_attempt_at')}, ${sql.ref('next_attempt_at')})`,
        claimed_until: null,
        provider_id: param('provider_id'),
        last_error: param('last_error'),
        payload: sql`CASE WHEN ${param('wipe')} = 1 THEN NULL ELSE ${sql.ref('payload')} END`,
        updated_at: param('at'),
      })
      .where('id', '=', param('id'))
      .where('attempts', '=', param('attempt'))
      .where('status', 'in', literals(UNFINISHED)),
  )
  const insert = prepare<ReturnType<typeof deliveryParams>>(
    db.insertInto('fs_deliveries').values(columnParams(DELIVERY_COLUMNS)),
  )
  // A fallback becomes the delivery `check` reports, and its channel the one the secret travels on.
  // Only while the challenge still waits: a fallback for one superseded or ended meanwhile is not written.
  const pointChallenge = prepare<{ id: string; delivery_id: string; channel: string }>(
    db
      .updateTable('fs_challenges')
      .set({ delivery_id: param('delivery_id'), channel: param('channel') })
      .where('id', '=', param('id'))
      .where('status', '=', 'pending'),
  )

  return {
    claimDeliveries: (at, leaseMs, limit) =>
      guard('claimDeliveries', async () =>
        (await dialect.claimDeliveries.runAlone(exec, { at, until: at + leaseMs, limit })).map(toDelivery),
      ),
    finishDelivery: (outcome, audit, fallback) =>
      guard('finishDelivery', async () => {
        try {
          return await exec.transaction(async (tx) => {
            const moved = await tx.run(finish.sql, finish.bind(finishArgs(outcome)))
            if (moved !== 1) return false
            if (fallback) {
              await tx.run(insert.sql, insert.bind(deliveryParams(fallback)))
              const pointed = await tx.run(
                pointChallenge.sql,
                pointChallenge.bind({
                  id: outcome.challengeId,
                  delivery_id: fallback.id,
                  channel: fallback.channel,
                }),
              )
              // The challenge no longer waits: undo the outcome and the fallback with the transaction.
              if (pointed !== 1) throw NOT_PENDING
            }
            await ctx.appendAudit(tx, audit)
            return true
          })
        } catch (error) {
          if (error === NOT_PENDING) return false
          throw error
        }
      }),
    // The outcomes of many sends in one transaction: each row moved by the same fenced UPDATE, then
    // every event of the batch appended at once, so each account's audit head moves once per batch
    // instead of once per message.
    finishDeliveries: (batch) =>
      guard('finishDeliveries', () =>
        exec.transaction(async (tx) => {
          const moved: boolean[] = []
          const audit: AuditDraft[] = []
          for (const { outcome, audit: drafts } of batch) {
            const changed = await tx.run(finish.sql, finish.bind(finishArgs(outcome)))
            moved.push(changed === 1)
            if (changed === 1) audit.push(...drafts)
          }
          await ctx.appendAudit(tx, audit)
          return moved
          // Recorded after the send, deferred: lost with the power, a message would go again (at least once).
        }, DEFERRED),
      ),
    cancelDeliveries: (at, limit, audit) =>
      guard('cancelDeliveries', () =>
        exec.transaction(async (tx) => {
          const rows = (await dialect.cancelDeliveries.run(tx, { at, limit })).map(toDelivery)
          if (rows.length === 0) return rows
          // S25: the audit names the system and the user; the challenges hold them (compiled per call:
          // the sweep is not on the login path).
          const read = db
            .selectFrom('fs_challenges')
            .select(['id', 'system_name', 'authid'])
            .where('id', 'in', [...new Set(rows.map((row) => row.challengeId))])
            .compile()
          const owners = new Map(
            (
              await tx.all<{ id: string; system_name: string; authid: string }>(read.sql, read.parameters)
            ).map((c) => [c.id, { systemName: c.system_name, authid: c.authid }]),
          )
          await ctx.appendAudit(
            tx,
            rows.map((row) => audit(row, owners.get(row.challengeId) ?? null)),
          )
          return rows
        }),
      ),
  }
}

/** Test-only reads of the outbox (Storage.inspector). */
export function outboxInspector(ctx: StoreContext): StorageInspector {
  const list = prepare<{ challenge_id: string }>(
    ctx.db
      .selectFrom('fs_deliveries')
      .select(DELIVERY_COLUMNS)
      .where('challenge_id', '=', param('challenge_id'))
      .orderBy('created_at')
      .orderBy('id'),
  )
  return {
    listDeliveries: (challengeId) =>
      ctx.guard('listDeliveries', async () =>
        (await ctx.exec.all(list.sql, list.bind({ challenge_id: challengeId }))).map(toDelivery),
      ),
  }
}
