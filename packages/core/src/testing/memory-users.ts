import { afterFailure } from '../ports/failure-streak.js'
import type { AuditDraft, FailureToCount, UserStore } from '../ports/storage.js'
import { appendAudit } from './memory-audit.js'
import { assignmentOut, out, userIn } from './memory-rows.js'
import {
  assignmentKey,
  compareText,
  deleteChallenge,
  type MemoryStoreDeps,
  type MemoryTables,
  references,
  unique,
} from './memory-tables.js'

// The in-memory UserStore, with the semantics of the SQL storage's users
// (adapters/kysely/src/user-store.ts): an authid unique in its account, the same columns written
// by each update (a lock is never lifted but by unlockUser), the schema's cascades on removal, and a
// failure counted in one step that never shortens a running delay.

/**
 * One more failure of `failure.userId`, audited with `drafts` (and the lock's, when it locks): the
 * user store's `recordFailure`, and the logins' with a wrong PIN's attempt (`settlePinAttempt`).
 */
export function countFailure(
  tables: MemoryTables,
  slot: MemoryStoreDeps['slot'],
  failure: FailureToCount,
  drafts: readonly AuditDraft[],
): { streak: number; locked: boolean } {
  const user = tables.users.get(failure.userId)
  if (!user) {
    appendAudit(tables, slot, drafts)
    return { streak: 0, locked: false }
  }
  const { row, streak, locked } = afterFailure(user, failure)
  tables.users.set(user.id, row)
  appendAudit(tables, slot, locked ? [...drafts, failure.lockAudit(streak)] : drafts)
  return { streak, locked }
}

/** An account's users, their assignments, failure streaks, lock and memorized PIN, in memory. */
export function memoryUsers({ tables, slot, run }: MemoryStoreDeps): UserStore {
  const audit = (drafts: readonly AuditDraft[]) => appendAudit(tables, slot, drafts)
  const userById = (id: string) => tables.users.get(id)

  return {
    insertUser: (row, drafts) =>
      run(
        'insertUser',
        () => {
          unique(tables.users.has(row.id), 'fs_users.id')
          unique(
            tables.users.values().some((u) => u.accountId === row.accountId && u.authid === row.authid),
            'fs_users (account_id, authid)',
          )
          references(tables.accounts.has(row.accountId), 'fs_users.account_id')
          tables.users.set(row.id, userIn(row))
          audit(drafts)
        },
        'authid',
      ),

    updateUser: (row, drafts) =>
      run('updateUser', () => {
        const stored = userById(row.id)
        if (stored) {
          const next = userIn(row)
          tables.users.set(row.id, {
            ...stored,
            displayName: next.displayName,
            email: next.email,
            phone: next.phone,
            locale: next.locale,
            attributes: next.attributes,
            // A lock that lands between an admin's read and this write stays: only unlockUser lifts it.
            status: stored.status === 'locked' ? 'locked' : next.status,
            updatedAt: next.updatedAt,
          })
        }
        audit(drafts)
      }),

    getUser: (accountId, authid) =>
      run('getUser', () => {
        const row = tables.users.values().find((u) => u.accountId === accountId && u.authid === authid)
        return row ? out(row) : null
      }),

    listUsers: (accountId, { afterAuthid = '', limit }) =>
      run('listUsers', () =>
        tables.users
          .values()
          .filter((u) => u.accountId === accountId && compareText(u.authid, afterAuthid) > 0)
          .sort((a, b) => compareText(a.authid, b.authid))
          .slice(0, Math.max(0, limit))
          .map(out),
      ),

    removeUser: (userId, drafts) =>
      run('removeUser', () => {
        if (!tables.users.delete(userId)) return false
        // The schema's cascades: assignments, challenges (and their deliveries), console sessions.
        for (const a of tables.assignments.values())
          if (a.userId === userId) tables.assignments.delete(assignmentKey(a.userId, a.systemId))
        for (const c of tables.challenges.values()) if (c.userId === userId) deleteChallenge(tables, c.id)
        for (const s of tables.consoleSessions.values())
          if (s.userId === userId) tables.consoleSessions.delete(s.id)
        audit(drafts)
        return true
      }),

    saveAssignments: (userId, rows, drafts) =>
      run('saveAssignments', () => {
        for (const row of rows) {
          references(tables.users.has(userId), 'fs_assignments.user_id')
          references(tables.systems.has(row.systemId), 'fs_assignments.system_id')
          const key = assignmentKey(userId, row.systemId)
          const stored = tables.assignments.get(key)
          const method = row.method
          const channel = row.channel ?? null
          tables.assignments.set(
            key,
            stored
              ? { ...stored, method, channel }
              : {
                  userId: userId,
                  systemId: row.systemId,
                  method,
                  channel,
                  challengeId: null,
                  previousChallengeId: null,
                },
          )
        }
        audit(drafts)
      }),

    listAssignments: (userId) =>
      run('listAssignments', () =>
        tables.assignments
          .values()
          .filter((a) => a.userId === userId)
          .sort((a, b) => compareText(a.systemId, b.systemId))
          .map(assignmentOut),
      ),

    recordFailure: (userId, at, decide, drafts, lockAudit) =>
      run('recordFailure', () => countFailure(tables, slot, { userId, at, decide, lockAudit }, drafts)),

    unlockUser: (userId, at, drafts) =>
      run('unlockUser', () => {
        const user = userById(userId)
        const wasLocked = user?.status === 'locked'
        if (user)
          tables.users.set(userId, {
            ...user,
            status: wasLocked ? 'active' : user.status,
            failureStreak: 0,
            retryAfter: null,
            updatedAt: at,
          })
        audit(drafts)
        return wasLocked
      }),

    setMemorizedPin: (userId, hash, at, drafts) =>
      run('setMemorizedPin', () => {
        const user = userById(userId)
        if (user) tables.users.set(userId, { ...user, memorizedPinHash: hash, updatedAt: at })
        audit(drafts)
      }),
  }
}
