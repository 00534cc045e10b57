import {
  type AssignmentRow,
  type AuditDraft,
  afterFailure,
  ConflictError,
  type FailureToCount,
  StorageError,
  type SystemRow,
  type SystemStore,
  type UserRow,
  type UserStore,
} from '@flexsecure/core'
import { appendAudit, type SealerSlot } from './audit.js'
import type { RedisKeys } from './keys.js'
import { compareText, deleteChallenge, type StoredChallenge } from './rows.js'
import type { Runner, Tx } from './transaction.js'

// An account's systems and users in Redis. A name or authid is unique per account through a hash
// from the exact text to the row's id: WATCH on that hash makes "is it taken?" and "take it" one
// step, so two processes inserting the same authid cannot both succeed.

/**
 * One more failure of `failure.userId` in `tx`, audited with `audit` (and the lock's, when it locks): the
 * user store's `recordFailure`, and the logins' with a wrong PIN's attempt (`settlePinAttempt`).
 */
export async function countFailure(
  tx: Tx,
  keys: RedisKeys,
  slot: SealerSlot,
  failure: FailureToCount,
  audit: readonly AuditDraft[],
): Promise<{ streak: number; locked: boolean }> {
  const user = await tx.row<UserRow>(keys.user(failure.userId))
  if (!user) {
    await appendAudit(tx, keys, slot, audit)
    return { streak: 0, locked: false }
  }
  const { row, streak, locked } = afterFailure(user, failure)
  tx.put(keys.user(user.id), row)
  await appendAudit(tx, keys, slot, locked ? [...audit, failure.lockAudit(streak)] : audit)
  return { streak, locked }
}

/** The system store. */
export function redisSystems(run: Runner, keys: RedisKeys, slot: SealerSlot): SystemStore {
  return {
    insertSystem: (row, audit) =>
      run.transact('insertSystem', async (tx) => {
        const names = keys.systemsByName(row.accountId)
        if (await tx.watched(names, (redis) => redis.hexists(names, row.name)))
          throw new ConflictError('name', 'is already taken')
        const [taken, account] = await tx.rows([keys.system(row.id), keys.account(row.accountId)])
        if (taken) throw new StorageError(`system ${row.id} exists`)
        if (!account) throw new StorageError(`system ${row.id}: unknown account ${row.accountId}`)
        tx.put(keys.system(row.id), row)
        tx.write((m) => m.hset(names, row.name, row.id))
        await appendAudit(tx, keys, slot, audit)
      }),

    updateSystem: (row, audit, expectedUpdatedAt) =>
      run.transact('updateSystem', async (tx) => {
        const stored = await tx.row<SystemRow>(keys.system(row.id))
        if (!stored || (expectedUpdatedAt !== undefined && stored.updatedAt !== expectedUpdatedAt))
          throw new ConflictError('system', 'was changed by someone else meanwhile; read it again and retry')
        // The settings change; the id, account, name and creation time stay.
        const { policies, returnUrl, messages, sensitivity, rules, updatedAt } = row
        tx.put(keys.system(row.id), {
          ...stored,
          policies,
          returnUrl,
          messages,
          sensitivity,
          rules,
          updatedAt,
        })
        await appendAudit(tx, keys, slot, audit)
      }),

    getSystem: (accountId, name) =>
      run.read('getSystem', async (redis) => {
        const id = await redis.hget(keys.systemsByName(accountId), name)
        const text = id === null ? null : await redis.get(keys.system(id))
        return text === null ? null : (JSON.parse(text) as SystemRow)
      }),

    listSystems: (accountId) =>
      run.read('listSystems', async (redis) => {
        const ids = await redis.hvals(keys.systemsByName(accountId))
        if (ids.length === 0) return []
        const texts = await redis.mget(...ids.map((id) => keys.system(id)))
        return texts
          .flatMap((text) => (text === null ? [] : [JSON.parse(text) as SystemRow]))
          .sort((a, b) => compareText(a.name, b.name))
      }),
  }
}

/** The user store: users, their assignments, failure streaks and memorized PIN. */
export function redisUsers(run: Runner, keys: RedisKeys, slot: SealerSlot): UserStore {
  const userKey = (id: string) => keys.user(id)
  return {
    insertUser: (row, audit) =>
      run.transact('insertUser', async (tx) => {
        const authids = keys.usersByAuthid(row.accountId)
        if (await tx.watched(authids, (redis) => redis.hexists(authids, row.authid)))
          throw new ConflictError('authid', 'is already taken')
        const [taken, account] = await tx.rows([userKey(row.id), keys.account(row.accountId)])
        if (taken) throw new StorageError(`user ${row.id} exists`)
        if (!account) throw new StorageError(`user ${row.id}: unknown account ${row.accountId}`)
        tx.put(userKey(row.id), row)
        tx.write((m) =>
          m.hset(authids, row.authid, row.id).zadd(keys.userOrder(row.accountId), 0, row.authid),
        )
        await appendAudit(tx, keys, slot, audit)
      }),

    updateUser: (row, audit) =>
      run.transact('updateUser', async (tx) => {
        const stored = await tx.row<UserRow>(userKey(row.id))
        if (stored) {
          const { displayName, email, phone, locale, attributes, updatedAt } = row
          // A lock that lands between an admin's read and this write stays: only unlockUser lifts it.
          const status = stored.status === 'locked' ? 'locked' : row.status
          tx.put(userKey(row.id), {
            ...stored,
            displayName,
            email,
            phone,
            locale,
            attributes,
            status,
            updatedAt,
          })
        }
        await appendAudit(tx, keys, slot, audit)
      }),

    getUser: (accountId, authid) =>
      run.read('getUser', async (redis) => {
        const id = await redis.hget(keys.usersByAuthid(accountId), authid)
        const text = id === null ? null : await redis.get(userKey(id))
        return text === null ? null : (JSON.parse(text) as UserRow)
      }),

    listUsers: (accountId, { afterAuthid, limit }) =>
      run.read('listUsers', async (redis) => {
        if (limit <= 0) return []
        // Lexicographic range over the authids, after the cursor.
        const from = afterAuthid ? `(${afterAuthid}` : '-'
        const authids = await redis.zrangebylex(keys.userOrder(accountId), from, '+', 'LIMIT', 0, limit)
        if (authids.length === 0) return []
        const ids = await redis.hmget(keys.usersByAuthid(accountId), ...authids)
        const texts = await redis.mget(...ids.flatMap((id) => (id === null ? [] : [userKey(id)])))
        return texts.flatMap((text) => (text === null ? [] : [JSON.parse(text) as UserRow]))
      }),

    removeUser: (userId, audit) =>
      run.transact('removeUser', async (tx) => {
        const user = await tx.row<UserRow>(userKey(userId))
        if (!user) return false
        // The SQL schema's cascades: the user's assignments, and their challenges with their deliveries.
        const systems = keys.userSystems(userId)
        const challengeIds = keys.userChallenges(userId)
        const [systemIds, ids] = await tx.watched([systems, challengeIds], (redis) =>
          Promise.all([redis.smembers(systems), redis.smembers(challengeIds)]),
        )
        const challenges = await tx.rows<StoredChallenge>(ids.map((id) => keys.challenge(id)))
        for (const challenge of challenges) if (challenge) await deleteChallenge(tx, keys, challenge)
        tx.delete(
          userKey(userId),
          systems,
          challengeIds,
          keys.userSuccesses(userId),
          ...systemIds.map((systemId) => keys.assignment(userId, systemId)),
        )
        tx.write((m) =>
          m
            .hdel(keys.usersByAuthid(user.accountId), user.authid)
            .zrem(keys.userOrder(user.accountId), user.authid),
        )
        await appendAudit(tx, keys, slot, audit)
        return true
      }),

    saveAssignments: (userId, rows, audit) =>
      run.transact('saveAssignments', async (tx) => {
        for (const row of rows) {
          const [user, system] = await tx.rows([userKey(userId), keys.system(row.systemId)])
          if (!user || !system) throw new StorageError(`assignment of user ${userId}: unknown user or system`)
          const stored = await tx.row<AssignmentRow>(keys.assignment(userId, row.systemId))
          const { method } = row
          const channel = row.channel ?? null
          // Replacing one keeps the challenge it points at.
          const challengeId = stored?.challengeId ?? null
          tx.put(keys.assignment(userId, row.systemId), {
            userId,
            systemId: row.systemId,
            method,
            channel,
            challengeId,
          })
          tx.write((m) => m.sadd(keys.userSystems(userId), row.systemId))
        }
        await appendAudit(tx, keys, slot, audit)
      }),

    listAssignments: (userId) =>
      run.read('listAssignments', async (redis) => {
        const systemIds = await redis.smembers(keys.userSystems(userId))
        if (systemIds.length === 0) return []
        const texts = await redis.mget(...systemIds.map((systemId) => keys.assignment(userId, systemId)))
        return texts
          .flatMap((text) => (text === null ? [] : [JSON.parse(text) as AssignmentRow]))
          .sort((a, b) => compareText(a.systemId, b.systemId))
      }),

    recordFailure: (userId, at, decide, audit, lockAudit) =>
      run.transact('recordFailure', (tx) =>
        countFailure(tx, keys, slot, { userId, at, decide, lockAudit }, audit),
      ),

    unlockUser: (userId, at, audit) =>
      run.transact('unlockUser', async (tx) => {
        const user = await tx.row<UserRow>(userKey(userId))
        const wasLocked = user?.status === 'locked'
        if (user) {
          const status = wasLocked ? 'active' : user.status
          tx.put(userKey(userId), { ...user, status, failureStreak: 0, retryAfter: null, updatedAt: at })
        }
        await appendAudit(tx, keys, slot, audit)
        return wasLocked
      }),

    setMemorizedPin: (userId, hash, at, audit) =>
      run.transact('setMemorizedPin', async (tx) => {
        const user = await tx.row<UserRow>(userKey(userId))
        if (user) tx.put(userKey(userId), { ...user, memorizedPinHash: hash, updatedAt: at })
        await appendAudit(tx, keys, slot, audit)
      }),
  }
}
