import {
  type AuditDraft,
  type DeliveryOutcome,
  type DeliveryRow,
  finishedDelivery,
  type OutboxStore,
  type StorageInspector,
} from '@flexsecure/core'
import { appendAudit, type SealerSlot } from './audit.js'
import type { RedisKeys } from './keys.js'
import { insertDelivery, putChallenge, putDelivery, type StoredChallenge, UNFINISHED } from './rows.js'
import type { Runner, Tx } from './transaction.js'

// The outbox in Redis. Unfinished deliveries sit in one sorted set, scored by when they may next be
// claimed. A claim finds candidates there without watching them (watching every due row would make
// any change to any of them a conflict), then reads the chosen rows under WATCH, checks them again
// and claims them: two dispatchers that chose the same row both watch it, and only one EXEC wins.

/** How many candidates a claim or a cancellation looks at per round trip. */
const PAGE = 100

/** Whether a dispatcher may claim `row` at `at`: waiting, due, no live claim, its challenge still pending. */
function claimable(
  row: DeliveryRow | null,
  challenge: StoredChallenge | null,
  at: number,
): row is DeliveryRow {
  return (
    row !== null &&
    UNFINISHED.has(row.status) &&
    row.nextAttemptAt <= at &&
    (row.claimedUntil === null || row.claimedUntil <= at) &&
    row.expiresAt > at &&
    challenge?.status === 'pending'
  )
}

/** Whether `row` should be cancelled at `at`: unfinished, and its challenge no longer pending or expired. */
function cancellable(
  row: DeliveryRow | null,
  challenge: StoredChallenge | null,
  at: number,
): row is DeliveryRow {
  return (
    row !== null &&
    UNFINISHED.has(row.status) &&
    challenge !== null &&
    (row.expiresAt <= at || challenge.status !== 'pending')
  )
}

/** The challenge of each delivery (null for a missing delivery), read with `read`. */
async function challengesOf(
  keys: RedisKeys,
  rows: readonly (DeliveryRow | null)[],
  read: (keys: string[]) => Promise<(StoredChallenge | null)[]>,
): Promise<(StoredChallenge | null)[]> {
  const present = rows.filter((row) => row !== null)
  const found = await read(present.map((row) => keys.challenge(row.challengeId)))
  return rows.map((row) => (row === null ? null : (found[present.indexOf(row)] ?? null)))
}

/**
 * Up to `limit` unfinished deliveries that `wanted` picks, read again under WATCH and picked again:
 * the rows the caller's writes depend on. `due` bounds the scores looked at (+inf: all).
 */
async function pick(
  tx: Tx,
  keys: RedisKeys,
  due: number | '+inf',
  limit: number,
  wanted: (row: DeliveryRow | null, challenge: StoredChallenge | null) => row is DeliveryRow,
): Promise<{ row: DeliveryRow; challenge: StoredChallenge | null }[]> {
  const chosen: string[] = []
  for (let offset = 0; chosen.length < limit; offset += PAGE) {
    const ids = await tx.redis.zrangebyscore(keys.unfinishedDeliveries, '-inf', due, 'LIMIT', offset, PAGE)
    const rows = await tx.peek<DeliveryRow>(ids.map((id) => keys.delivery(id)))
    const challenges = await challengesOf(keys, rows, (list) => tx.peek(list))
    rows.forEach((row, i) => {
      if (chosen.length < limit && wanted(row, challenges[i] ?? null)) chosen.push(row.id)
    })
    if (ids.length < PAGE) break
  }
  const rows = await tx.rows<DeliveryRow>(chosen.map((id) => keys.delivery(id)))
  const challenges = await challengesOf(keys, rows, (list) => tx.rows(list))
  return rows.flatMap((row, i) => {
    const challenge = challenges[i] ?? null
    return wanted(row, challenge) ? [{ row, challenge }] : []
  })
}

/** The outbox store, and the inspector's read of a challenge's deliveries. */
export function redisOutbox(
  run: Runner,
  keys: RedisKeys,
  slot: SealerSlot,
): OutboxStore & { readonly inspector: StorageInspector } {
  /**
   * Records an attempt's outcome on `row` (read in `tx`) if its claim still holds (fenced on the attempt);
   * the row written, or null.
   */
  function finishRow(tx: Tx, row: DeliveryRow | null, outcome: DeliveryOutcome): DeliveryRow | null {
    // Core's rule for what a finished delivery keeps (the fence on the attempt, the payload wiped).
    const next = row ? finishedDelivery(row, outcome) : null
    if (next) putDelivery(tx, keys, next)
    return next
  }

  /** `finishRow` on the delivery as stored; whether its claim held. */
  async function finish(tx: Tx, outcome: DeliveryOutcome): Promise<boolean> {
    return finishRow(tx, await tx.row<DeliveryRow>(keys.delivery(outcome.id)), outcome) !== null
  }

  return {
    claimDeliveries: (at, leaseMs, limit) =>
      run.transact('claimDeliveries', async (tx) => {
        if (limit <= 0) return []
        const picked = await pick(tx, keys, at, limit, (row, challenge): row is DeliveryRow =>
          claimable(row, challenge, at),
        )
        return picked.map(({ row }) => {
          const claimed = { ...row, attempts: row.attempts + 1, claimedUntil: at + leaseMs, updatedAt: at }
          putDelivery(tx, keys, claimed)
          return claimed
        })
      }),

    finishDelivery: (outcome, audit, fallback) =>
      run.transact('finishDelivery', async (tx) => {
        // Read (and watched) first: a fallback only while its challenge still waits; superseded or ended
        // meanwhile, nothing is written.
        const challenge = fallback ? await tx.row<StoredChallenge>(keys.challenge(outcome.challengeId)) : null
        if (fallback && challenge?.status !== 'pending') return false
        if (!(await finish(tx, outcome))) return false
        if (fallback && challenge) {
          await insertDelivery(tx, keys, fallback)
          // The fallback becomes the delivery check reports, and its channel the one the secret travels on.
          putChallenge(tx, keys, { ...challenge, deliveryId: fallback.id, channel: fallback.channel })
        }
        await appendAudit(tx, keys, slot, audit)
        return true
      }),

    // Many outcomes, each fenced on its own claim, in one transaction: the deliveries read (and watched) in
    // one round trip, written in one MULTI, and each account's audit head moved once for all its events.
    // The try watches the head of every account in the batch, so with many busy accounts it conflicts
    // more often than one append would; should it give up, the engine records each outcome on its own.
    finishDeliveries: (batch) =>
      run.transact('finishDeliveries', async (tx) => {
        const rows = await tx.rows<DeliveryRow>(batch.map(({ outcome }) => keys.delivery(outcome.id)))
        // A delivery twice in one batch: its second outcome is fenced on the row as the first one left it.
        const written = new Map<string, DeliveryRow>()
        const drafts: AuditDraft[] = []
        const held = batch.map(({ outcome, audit }, i) => {
          const next = finishRow(tx, written.get(outcome.id) ?? rows[i] ?? null, outcome)
          if (!next) return false
          written.set(outcome.id, next)
          drafts.push(...audit)
          return true
        })
        await appendAudit(tx, keys, slot, drafts)
        return held
      }),

    cancelDeliveries: (at, limit, audit) =>
      run.transact('cancelDeliveries', async (tx) => {
        if (limit <= 0) return []
        const picked = await pick(tx, keys, '+inf', limit, (row, challenge): row is DeliveryRow =>
          cancellable(row, challenge, at),
        )
        const cancelled = picked.map(({ row, challenge }) => {
          const next = {
            ...row,
            status: 'cancelled' as const,
            payload: null,
            claimedUntil: null,
            updatedAt: at,
          }
          putDelivery(tx, keys, next)
          return { next, challenge }
        })
        await appendAudit(
          tx,
          keys,
          slot,
          cancelled.map(({ next, challenge }) =>
            audit(next, challenge ? { systemName: challenge.systemName, authid: challenge.authid } : null),
          ),
        )
        return cancelled.map(({ next }) => next)
      }),

    inspector: {
      listDeliveries: (challengeId) =>
        run.read('listDeliveries', async (redis) => {
          // By creation time, then id.
          const ids = await redis.zrange(keys.challengeDeliveries(challengeId), 0, -1)
          if (ids.length === 0) return []
          const texts = await redis.mget(...ids.map((id) => keys.delivery(id)))
          return texts.flatMap((text) => (text === null ? [] : [JSON.parse(text) as DeliveryRow]))
        }),
    },
  }
}
