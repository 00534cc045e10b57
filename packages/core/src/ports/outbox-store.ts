import type { AuditDraft, DeliveryOutcome, DeliveryRow } from './rows.js'

/** The outbox: deliveries claimed by dispatchers, attempted, finished or cancelled. */
export interface OutboxStore {
  /**
   * Claims up to `limit` deliveries that are due at `at` (queued or failed, next attempt reached, no
   * live claim, not past their challenge's expiry, challenge still pending): one more attempt each,
   * owned until `at + leaseMs`. Two dispatchers never claim the same row at once.
   */
  claimDeliveries(at: number, leaseMs: number, limit: number): Promise<DeliveryRow[]>
  /**
   * Records an attempt's outcome if the claim still holds (the row is queued or failed and its
   * attempts equal `outcome.attempt`); with `fallback`, inserts it and makes it the challenge's
   * reported delivery and its channel the challenge's, but only while the challenge is `pending`
   * (superseded or ended meanwhile: nothing is written, and the answer is false); writes `audit`; all in
   * one transaction. A final status wipes the payload.
   */
  finishDelivery(
    outcome: DeliveryOutcome,
    audit: readonly AuditDraft[],
    fallback?: DeliveryRow,
  ): Promise<boolean>
  /**
   * Optional: `finishDelivery` for many outcomes (none with a fallback) in one transaction, one audit head
   * move per account; answers, in order, whether each claim still held. Without it, the engine calls
   * `finishDelivery` for each.
   */
  finishDeliveries?(
    batch: readonly { readonly outcome: DeliveryOutcome; readonly audit: readonly AuditDraft[] }[],
  ): Promise<boolean[]>
  /**
   * Cancels up to `limit` unfinished deliveries whose challenge is no longer pending or has expired at
   * `at`, wiping their payloads, with `audit(row)` for each; returns them.
   */
  cancelDeliveries(
    at: number,
    limit: number,
    audit: (cancelled: DeliveryRow, challenge: { systemName: string; authid: string } | null) => AuditDraft,
  ): Promise<DeliveryRow[]>
}
