import type { DeliveryOutcome, DeliveryRow } from '../ports/rows.js'

/**
 * What `finishDelivery` writes, for storages that compute rows in code (the in-memory one, a key-value
 * store): the row after `outcome`, or null when the claim no longer holds (the row is finished, or another
 * attempt has claimed it since). A final delivery keeps no payload: the secret it carried is gone.
 */
export function finishedDelivery(row: DeliveryRow, outcome: DeliveryOutcome): DeliveryRow | null {
  if (row.attempts !== outcome.attempt || (row.status !== 'queued' && row.status !== 'failed')) return null
  return {
    ...row,
    status: outcome.to,
    nextAttemptAt: outcome.nextAttemptAt ?? row.nextAttemptAt,
    claimedUntil: null,
    providerId: outcome.providerId,
    lastError: outcome.lastError,
    payload: outcome.to === 'failed' ? row.payload : null,
    updatedAt: outcome.at,
  }
}
