import type {
  AccountRow,
  AssignmentRow,
  ChallengeTransition,
  DeliveryRow,
  IssueOutcome,
  LoginStore,
  PinVerdict,
  SendLimit,
  SystemRow,
  UserRow,
} from '@flexsecure/core'
import { appendAudit, type SealerSlot } from './audit.js'
import { countFailure } from './directory.js'
import type { RedisKeys } from './keys.js'
import {
  accountOut,
  challengeOut,
  deleteChallenge,
  insertChallenge,
  insertDelivery,
  LIVE,
  type LimitWindow,
  putChallenge,
  type StoredChallenge,
} from './rows.js'
import type { Runner, Tx } from './transaction.js'

// Logins in Redis: every move of a challenge is one optimistic transaction that reads the challenge
// under WATCH, decides, and writes it (with its audit events) in one MULTI. Two processes confirming
// one link both read it pending; the EXEC of the second fails because the first changed it, and its
// second try reads it confirmed and moves nothing.

/** How many ended send-limit windows one transaction of `sweepRateLimits` forgets. */
const SWEEP_BATCH = 500

/** A row by a key that may be absent (an id not found): null without a read. */
const rowOrNull = <T>(tx: Tx, key: string | null) => (key === null ? Promise.resolve(null) : tx.row<T>(key))

/** The login store. */
export function redisLogins(run: Runner, keys: RedisKeys, slot: SealerSlot): LoginStore {
  const challengeKey = (id: string) => keys.challenge(id)

  /** A stored challenge with its reported delivery's state, read in `tx`. */
  const readChallenge = async (tx: Tx, id: string | null) => {
    const row = await rowOrNull<StoredChallenge>(tx, id === null ? null : challengeKey(id))
    if (!row) return null
    const delivery = await rowOrNull<DeliveryRow>(tx, row.deliveryId && keys.delivery(row.deliveryId))
    return challengeOut(row, delivery)
  }

  /** Writes `row` moved by `move`, clearing `resetFailuresOf`'s failure streak and delay (read in `tx`). */
  const moveChallenge = async (
    tx: Tx,
    row: StoredChallenge,
    move: ChallengeTransition,
    resetFailuresOf: string | undefined,
  ) => {
    putChallenge(tx, keys, {
      ...row,
      status: move.to,
      // `confirmed` is a step on the way (a link confirmed, a first layer passed), not an end.
      completedAt: move.to === 'confirmed' ? row.completedAt : (row.completedAt ?? move.at),
      outcomeReported: move.reported,
      attempts: move.resetAttempts ? 0 : row.attempts,
    })
    const user = await rowOrNull<UserRow>(
      tx,
      resetFailuresOf === undefined ? null : keys.user(resetFailuresOf),
    )
    if (user && (user.failureStreak > 0 || user.retryAfter !== null))
      tx.put(keys.user(user.id), { ...user, failureStreak: 0, retryAfter: null })
  }

  // An attempt alone (`reserveAttempt`), or settled with what the PIN was (`settlePinAttempt`: the move
  // with its audit, or the failure and the burn on the last attempt), in one transaction: under WATCH, two
  // processes checking one challenge never both take its last attempt, and never both authenticate it.
  const takeAttempt = (
    operation: 'reserveAttempt' | 'settlePinAttempt',
    id: string,
    at: number,
    status: 'pending' | 'confirmed',
    verdict?: PinVerdict,
  ) =>
    run.transact(operation, async (tx) => {
      const row = await tx.row<StoredChallenge>(challengeKey(id))
      if (
        !row ||
        row.status !== status ||
        row.outcomeReported ||
        row.expiresAt <= at ||
        row.attempts >= row.maxAttempts
      )
        return null
      const counted = { ...row, attempts: row.attempts + 1 }
      if (!verdict) putChallenge(tx, keys, counted)
      else if (verdict.right) {
        // The move ends the PIN layer: the attempt just taken stays counted (`resetAttempts` is not read).
        await moveChallenge(tx, counted, { ...verdict.move, resetAttempts: false }, verdict.resetFailuresOf)
        await appendAudit(tx, keys, slot, verdict.audit)
      } else {
        // The last attempt burns the challenge (a conditional move, as transitionChallenge's).
        const burns =
          counted.attempts >= counted.maxAttempts && (verdict.burn.from as readonly string[]).includes(status)
        if (burns) await moveChallenge(tx, counted, verdict.burn, undefined)
        else putChallenge(tx, keys, counted)
        await countFailure(tx, keys, slot, verdict.failure, verdict.audit(counted.attempts))
      }
      return counted.attempts
    })

  return {
    resolveLogin: (accountId, systemName, authid) =>
      // A snapshot: the assignment and the challenge it points at are read as of one moment.
      run.transact(
        'resolveLogin',
        async (tx) => {
          const account = await tx.row<AccountRow>(keys.account(accountId))
          if (!account) return null
          const systems = keys.systemsByName(accountId)
          const users = keys.usersByAuthid(accountId)
          const [systemId, userId] = await tx.watched([systems, users], (redis) =>
            Promise.all([redis.hget(systems, systemName), redis.hget(users, authid)]),
          )
          const system = await rowOrNull<SystemRow>(tx, systemId && keys.system(systemId))
          const user = await rowOrNull<UserRow>(tx, userId && keys.user(userId))
          const assignment =
            system && user ? await tx.row<AssignmentRow>(keys.assignment(user.id, system.id)) : null
          return {
            account: accountOut(account),
            system,
            user,
            assignment,
            challenge: await readChallenge(tx, assignment?.challengeId ?? null),
          }
        },
        { snapshot: true },
      ),

    issueChallenge: (challenge, audit, limits, deliveries = []) =>
      run.transact('issueChallenge', async (tx): Promise<IssueOutcome> => {
        const now = challenge.createdAt
        // Each limit's window: a window that ended starts again at 1; a counter at its limit refuses.
        // Nothing is written until every limit passed, so a refused start spends none of them.
        const windows = await tx.rows<LimitWindow>(limits.map((limit) => keys.sendLimit(limit.key)))
        const taken: [SendLimit, LimitWindow][] = []
        for (const [i, limit] of limits.entries()) {
          const window = windows[i]
          if (!window || window.windowEnd <= now)
            taken.push([limit, { count: 1, windowEnd: now + limit.windowMs }])
          else if (window.count < limit.limit) taken.push([limit, { ...window, count: window.count + 1 }])
          else return { issued: false, reason: 'rate_limited', key: limit.key, retryAfter: window.windowEnd }
        }
        // The assignment is the pair's lock: concurrent starts for it all WATCH it, one EXEC wins.
        const pair = keys.assignment(challenge.userId, challenge.systemId)
        const assignment = await tx.row<AssignmentRow>(pair)
        if (!assignment) return { issued: false, reason: 'not_assigned' }
        for (const [limit, window] of taken) {
          tx.put(keys.sendLimit(limit.key), window)
          tx.write((m) => m.zadd(keys.sendLimits, window.windowEnd, limit.key))
        }
        const previous = await rowOrNull<StoredChallenge>(
          tx,
          assignment.challengeId && challengeKey(assignment.challengeId),
        )
        if (previous && LIVE.has(previous.status))
          putChallenge(tx, keys, { ...previous, status: 'superseded', completedAt: now })
        tx.put(pair, { ...assignment, challengeId: challenge.id })
        await insertChallenge(tx, keys, challenge)
        for (const delivery of deliveries) await insertDelivery(tx, keys, delivery)
        await appendAudit(tx, keys, slot, audit)
        return { issued: true }
      }),

    getChallenge: (id) => run.transact('getChallenge', (tx) => readChallenge(tx, id)),

    getChallengeByLinkHash: (linkHash) =>
      run.transact('getChallengeByLinkHash', async (tx) => {
        const link = keys.challengeByLinkHash(linkHash)
        return readChallenge(tx, await tx.watched(link, (redis) => redis.get(link)))
      }),

    confirmLink: (linkHash, at, audit, matchCode = null) =>
      run.transact('confirmLink', async (tx) => {
        const link = keys.challengeByLinkHash(linkHash)
        const id = await tx.watched(link, (redis) => redis.get(link))
        const row = await rowOrNull<StoredChallenge>(tx, id && challengeKey(id))
        if (row?.status !== 'pending' || row.expiresAt <= at) return null
        let current = row
        if (row.matchCode !== null) {
          // Number matching (S12): every try, a missing code included, first takes an attempt; the
          // attempt stays spent whatever the code.
          if (row.attempts >= row.maxAttempts) return null
          current = { ...row, attempts: row.attempts + 1 }
          putChallenge(tx, keys, current)
          if (matchCode !== row.matchCode) return null
        }
        const confirmed: StoredChallenge = { ...current, status: 'confirmed', attempts: 0 }
        putChallenge(tx, keys, confirmed)
        const answer = challengeOut(confirmed, null)
        await appendAudit(tx, keys, slot, [audit(answer)])
        return answer
      }),

    reserveAttempt: (id, at, status = 'pending') => takeAttempt('reserveAttempt', id, at, status),

    settlePinAttempt: (id, at, status, verdict) => takeAttempt('settlePinAttempt', id, at, status, verdict),

    transitionChallenge: (move, audit, resetFailuresOf) =>
      run.transact('transitionChallenge', async (tx) => {
        const row = await tx.row<StoredChallenge>(challengeKey(move.id))
        if (!row || row.outcomeReported || !(move.from as readonly string[]).includes(row.status))
          return false
        await moveChallenge(tx, row, move, resetFailuresOf)
        await appendAudit(tx, keys, slot, audit)
        return true
      }),

    userHistory: (userId, device) =>
      run.read('userHistory', async (redis) => {
        // The user's authenticated challenges by completion time: the last one is the last success.
        const ids = await redis.zrange(keys.userSuccesses(userId), 0, -1, 'WITHSCORES')
        const lastSuccessAt = ids.length === 0 ? null : Number(ids.at(-1))
        if (device === null || ids.length === 0) return { lastSuccessAt, knownDevice: false }
        const texts = await redis.mget(...ids.filter((_, i) => i % 2 === 0).map(challengeKey))
        const knownDevice = texts.some(
          (text) => text !== null && (JSON.parse(text) as StoredChallenge).device === device,
        )
        return { lastSuccessAt, knownDevice }
      }),

    expireDue: (at, limit, audit) =>
      run.transact('expireDue', async (tx) => {
        if (limit <= 0) return []
        // The index finds them, soonest expiry first; each row, read under WATCH, is checked again.
        const ids = await tx.redis.zrangebyscore(keys.liveChallenges, '-inf', at, 'LIMIT', 0, limit)
        const rows = await tx.rows<StoredChallenge>(ids.map(challengeKey))
        const expired = rows.flatMap((row) => {
          if (!row || !LIVE.has(row.status) || row.expiresAt > at) return []
          const next: StoredChallenge = { ...row, status: 'expired', completedAt: at }
          putChallenge(tx, keys, next)
          return [challengeOut(next, null)]
        })
        await appendAudit(tx, keys, slot, expired.map(audit))
        return expired
      }),

    sweepRateLimits: async (at) => {
      let swept = 0
      for (;;) {
        const { forgotten, more } = await run.transact('sweepRateLimits', async (tx) => {
          const ended = await tx.redis.zrangebyscore(keys.sendLimits, '-inf', at, 'LIMIT', 0, SWEEP_BATCH)
          const windows = await tx.rows<LimitWindow>(ended.map((key) => keys.sendLimit(key)))
          let forgotten = 0
          ended.forEach((key, i) => {
            const window = windows[i]
            if (window && window.windowEnd > at) return
            if (window) forgotten++
            tx.delete(keys.sendLimit(key))
            tx.write((m) => m.zrem(keys.sendLimits, key))
          })
          return { forgotten, more: ended.length === SWEEP_BATCH }
        })
        swept += forgotten
        if (!more) return swept
      }
    },

    purgeEndedChallenges: (before, limit) =>
      run.transact('purgeEndedChallenges', async (tx) => {
        if (limit <= 0) return 0
        const ids = await tx.redis.zrangebyscore(
          keys.endedChallenges,
          '-inf',
          `(${before}`,
          'LIMIT',
          0,
          limit,
        )
        const rows = await tx.rows<StoredChallenge>(ids.map(challengeKey))
        let purged = 0
        for (const row of rows)
          if (row && !LIVE.has(row.status) && row.expiresAt < before) {
            // With every delivery of theirs; the audit trail keeps its events.
            await deleteChallenge(tx, keys, row)
            purged++
          }
        return purged
      }),
  }
}
