import type { AuditDraft, DeliveryOutcome } from '@flexsecure/core'
import type { PreparedQuery } from './prepared-query.js'
import { DEFERRED, type SqlExecutor } from './sql-executor.js'

// Issue 16 item 4: the outcomes of many sends written in one transaction (Storage.finishDeliveries):
// each row moved by the same fenced UPDATE as `finishDelivery`, then every event of the batch appended
// at once, so each account's audit head moves once per batch instead of once per message.

interface Deps {
  readonly exec: SqlExecutor
  /** The storage's `finishDelivery` UPDATE (fenced on attempts and an unfinished status). */
  readonly finishDelivery: PreparedQuery<Record<string, unknown>>
  readonly appendAudit: (tx: SqlExecutor, drafts: readonly AuditDraft[]) => Promise<void>
  readonly guard: <T>(what: string, work: () => Promise<T>) => Promise<T>
}

/** The named values of `finishDelivery`'s UPDATE for one outcome. */
export function finishDeliveryArgs(outcome: DeliveryOutcome): Record<string, unknown> {
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

export function finishDeliveries({ exec, finishDelivery, appendAudit, guard }: Deps) {
  return (
    batch: readonly { readonly outcome: DeliveryOutcome; readonly audit: readonly AuditDraft[] }[],
  ): Promise<boolean[]> =>
    guard('finishDeliveries', () =>
      // Recorded after the send, deferred: lost with the power, a message would go again (at least once).
      exec.transaction(async (tx) => {
        const moved: boolean[] = []
        const audit: AuditDraft[] = []
        for (const { outcome, audit: drafts } of batch) {
          const changed = await tx.run(finishDelivery.sql, finishDelivery.bind(finishDeliveryArgs(outcome)))
          moved.push(changed === 1)
          if (changed === 1) audit.push(...drafts)
        }
        await appendAudit(tx, audit)
        return moved
      }, DEFERRED),
    )
}
