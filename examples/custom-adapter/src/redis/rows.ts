import {
  type AccountRow,
  type AssignmentRow,
  type ChallengeRow,
  type DeliveryRow,
  type DeliveryState,
  type DeliveryStatus,
  resolveSettings,
  StorageError,
} from '@flexsecure/core'
import type { RedisKeys } from './keys.js'
import type { Tx } from './transaction.js'

// Rows as the Redis storage keeps them, and the writes that keep a challenge's or a delivery's
// indexes in step with the row: every write of one of those rows goes through `putChallenge` or
// `putDelivery`, in the same transaction.

/** A challenge as stored: where its delivery stands is read from the delivery, never stored twice. */
export type StoredChallenge = Omit<ChallengeRow, 'delivery'>

/** One send-limit window. */
export interface LimitWindow {
  readonly count: number
  readonly windowEnd: number
}

/** Challenge states from which a challenge can still move on. */
export const LIVE: ReadonlySet<string> = new Set(['pending', 'confirmed'])
/** Delivery states that wait for an attempt (the first, or a retry). */
export const UNFINISHED: ReadonlySet<string> = new Set(['queued', 'failed'])

/** Settings are stored as given and resolved on read, as the SQL storages do. */
export const accountOut = (row: AccountRow): AccountRow => ({
  ...row,
  settings: resolveSettings(row.settings),
})

export const assignmentOut = (row: AssignmentRow): AssignmentRow => row

/** What a host hears for each delivery status; a cancelled delivery's challenge is over anyway. */
const DELIVERY_STATE: Partial<Record<DeliveryStatus, DeliveryState>> = {
  queued: 'queued',
  failed: 'failed',
  sent: 'sent',
  abandoned: 'failed',
}

export function challengeIn(row: ChallengeRow): StoredChallenge {
  const { delivery: _readFromTheDelivery, returnUrl, ...stored } = row
  // Same-device completion: present only when the start named a return URL.
  return returnUrl ? { ...stored, returnUrl } : stored
}

/** A challenge as read, with its reported delivery's state (null when it has none, or it was not read). */
export function challengeOut(row: StoredChallenge, delivery: DeliveryRow | null): ChallengeRow {
  return { ...row, delivery: (delivery && DELIVERY_STATE[delivery.status]) ?? null }
}

/** Orders text by code points, as the SQL storages' "C" collation does (not by UTF-16 units). */
export function compareText(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

/** Writes a challenge with its indexes: live or ended by expiry, and the user's successes. */
export function putChallenge(tx: Tx, keys: RedisKeys, row: StoredChallenge): void {
  tx.put(keys.challenge(row.id), row)
  const live = LIVE.has(row.status)
  tx.write((m) =>
    m
      .zadd(live ? keys.liveChallenges : keys.endedChallenges, row.expiresAt, row.id)
      .zrem(live ? keys.endedChallenges : keys.liveChallenges, row.id),
  )
  const successes = keys.userSuccesses(row.userId)
  if (row.status === 'authenticated')
    tx.write((m) => m.zadd(successes, row.completedAt ?? row.createdAt, row.id))
  else tx.write((m) => m.zrem(successes, row.id))
}

/** Inserts a challenge, refusing a taken id or link hash and an unknown system or user. */
export async function insertChallenge(tx: Tx, keys: RedisKeys, challenge: ChallengeRow): Promise<void> {
  const row = challengeIn(challenge)
  const [system, user, taken] = await tx.rows([
    keys.system(row.systemId),
    keys.user(row.userId),
    keys.challenge(row.id),
  ])
  if (!system || !user) throw new StorageError(`challenge ${row.id}: unknown system or user`)
  if (taken) throw new StorageError(`challenge ${row.id} exists`)
  if (row.linkHash !== null) {
    const link = keys.challengeByLinkHash(row.linkHash)
    if (await tx.watched(link, (redis) => redis.exists(link)))
      throw new StorageError(`challenge ${row.id}: link hash taken`)
    tx.write((m) => m.set(link, row.id))
  }
  putChallenge(tx, keys, row)
  tx.write((m) => m.sadd(keys.userChallenges(row.userId), row.id))
}

/** Deletes a challenge with its deliveries and every index entry of theirs (the SQL schema's cascade). */
export async function deleteChallenge(tx: Tx, keys: RedisKeys, row: StoredChallenge): Promise<void> {
  const list = keys.challengeDeliveries(row.id)
  const deliveries = await tx.watched(list, (redis) => redis.zrange(list, 0, -1))
  tx.delete(keys.challenge(row.id), list, ...deliveries.map((id) => keys.delivery(id)))
  if (row.linkHash !== null) tx.delete(keys.challengeByLinkHash(row.linkHash))
  tx.write((m) =>
    m
      .zrem(keys.liveChallenges, row.id)
      .zrem(keys.endedChallenges, row.id)
      .srem(keys.userChallenges(row.userId), row.id)
      .zrem(keys.userSuccesses(row.userId), row.id),
  )
  if (deliveries.length > 0) tx.write((m) => m.zrem(keys.unfinishedDeliveries, ...deliveries))
}

/**
 * Writes a delivery with its indexes: its challenge's list, and, while it waits for an attempt, the
 * outbox's, scored by when it may be claimed (its next attempt, or when a live claim lapses).
 */
export function putDelivery(tx: Tx, keys: RedisKeys, row: DeliveryRow): void {
  tx.put(keys.delivery(row.id), row)
  tx.write((m) => m.zadd(keys.challengeDeliveries(row.challengeId), row.createdAt, row.id))
  if (UNFINISHED.has(row.status))
    tx.write((m) =>
      m.zadd(keys.unfinishedDeliveries, Math.max(row.nextAttemptAt, row.claimedUntil ?? 0), row.id),
    )
  else tx.write((m) => m.zrem(keys.unfinishedDeliveries, row.id))
}

/** Inserts a delivery, refusing a taken id or an unknown challenge (one this transaction inserted counts). */
export async function insertDelivery(tx: Tx, keys: RedisKeys, row: DeliveryRow): Promise<void> {
  const [taken, challenge] = await tx.rows([keys.delivery(row.id), keys.challenge(row.challengeId)])
  if (taken) throw new StorageError(`delivery ${row.id} exists`)
  if (!challenge) throw new StorageError(`delivery ${row.id}: unknown challenge ${row.challengeId}`)
  putDelivery(tx, keys, {
    ...row,
    claimedUntil: row.claimedUntil ?? null,
    providerId: row.providerId ?? null,
    lastError: row.lastError ?? null,
    payload: row.payload ?? null,
    fallbackOf: row.fallbackOf ?? null,
  })
}
