import { finishedDelivery } from '../outbox/delivery-outcome-rule.js'
import type {
  AuditDraft,
  DeliveryOutcome,
  DeliveryRow,
  OutboxStore,
  StorageInspector,
} from '../ports/storage.js'
import { appendAudit } from './memory-audit.js'
import { deliveryIn, out } from './memory-rows.js'
import { compareText, type MemoryStoreDeps, type MemoryTables, references, unique } from './memory-tables.js'

// The in-memory storage's outbox: claims that never hand a row to two dispatchers, outcomes fenced on
// the attempt, fallbacks, cancellation, with the semantics of adapters/kysely/src/outbox-store.ts
// and outbox-queries.ts.

const UNFINISHED = new Set(['queued', 'failed'])

/** Inserts a delivery, refusing a taken id or an unknown challenge. */
export function insertDelivery(tables: MemoryTables, row: DeliveryRow): void {
  const stored = deliveryIn(row)
  unique(tables.deliveries.has(stored.id), 'fs_deliveries.id')
  references(tables.challenges.has(stored.challengeId), 'fs_deliveries.challenge_id')
  tables.deliveries.set(stored.id, stored)
}

/** The outbox in memory. */
export function memoryOutbox({ tables, slot, run }: MemoryStoreDeps): OutboxStore {
  const audit = (drafts: readonly AuditDraft[]) => appendAudit(tables, slot, drafts)
  const challengeById = (id: string) => tables.challenges.get(id)
  const setChallenge = (row: NonNullable<ReturnType<typeof challengeById>>) =>
    tables.challenges.set(row.id, row)

  /** Records an attempt's outcome if its claim still holds (fenced on the attempt); whether it did. */
  function finish(outcome: DeliveryOutcome): boolean {
    const row = tables.deliveries.get(outcome.id)
    const next = row ? finishedDelivery(row, outcome) : null
    if (!next) return false
    tables.deliveries.set(next.id, next)
    return true
  }

  return {
    claimDeliveries: (at, leaseMs, limit) =>
      run('claimDeliveries', () =>
        tables.deliveries
          .values()
          .filter(
            (d) =>
              UNFINISHED.has(d.status) &&
              d.nextAttemptAt <= at &&
              (d.claimedUntil === null || d.claimedUntil <= at) &&
              d.expiresAt > at &&
              challengeById(d.challengeId)?.status === 'pending',
          )
          .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt)
          .slice(0, Math.max(0, limit))
          .map((d) => {
            const claimed = { ...d, attempts: d.attempts + 1, claimedUntil: at + leaseMs, updatedAt: at }
            tables.deliveries.set(d.id, claimed)
            return out(claimed)
          }),
      ),
    finishDelivery: (outcome, drafts, fallback) =>
      run('finishDelivery', () => {
        // A fallback only while its challenge still waits: superseded or ended meanwhile, nothing is written.
        if (fallback && challengeById(outcome.challengeId)?.status !== 'pending') return false
        if (!finish(outcome)) return false
        if (fallback) {
          insertDelivery(tables, fallback)
          const challenge = challengeById(outcome.challengeId)
          // The fallback becomes the delivery check reports, and its channel the one the secret travels on.
          if (challenge) setChallenge({ ...challenge, deliveryId: fallback.id, channel: fallback.channel })
        }
        audit(drafts)
        return true
      }),
    finishDeliveries: (batch) =>
      run('finishDeliveries', () => {
        // Each outcome fenced on its own claim; the events of those that held appended at once.
        const drafts: AuditDraft[] = []
        const moved = batch.map(({ outcome, audit: recorded }) => {
          const held = finish(outcome)
          if (held) drafts.push(...recorded)
          return held
        })
        audit(drafts)
        return moved
      }),
    cancelDeliveries: (at, limit, auditOf) =>
      run('cancelDeliveries', () => {
        const ended = tables.deliveries.values().filter((d) => {
          const challenge = challengeById(d.challengeId)
          return (
            UNFINISHED.has(d.status) && challenge && (d.expiresAt <= at || challenge.status !== 'pending')
          )
        })
        const cancelled = ended.slice(0, Math.max(0, limit)).map((d) => {
          const next = {
            ...d,
            status: 'cancelled' as const,
            payload: null,
            claimedUntil: null,
            updatedAt: at,
          }
          tables.deliveries.set(d.id, next)
          return next
        })
        audit(
          cancelled.map((d) => {
            const owner = challengeById(d.challengeId)
            return auditOf(out(d), owner ? { systemName: owner.systemName, authid: owner.authid } : null)
          }),
        )
        return cancelled.map(out)
      }),
  }
}

/** The test-only reads of the outbox: a challenge's deliveries, oldest first. */
export function memoryInspector({ tables, run }: MemoryStoreDeps): StorageInspector {
  return {
    listDeliveries: (challengeId) =>
      run('listDeliveries', () =>
        tables.deliveries
          .values()
          .filter((d) => d.challengeId === challengeId)
          .sort((a, b) => a.createdAt - b.createdAt || compareText(a.id, b.id))
          .map(out),
      ),
  }
}
