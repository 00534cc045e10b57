import { ConflictError } from '../domain/errors.js'
import type { AccountStore, ApiKeyStore, AuditDraft, SystemStore, UserStore } from '../ports/storage.js'
import { appendAudit, openAuditChain } from './memory-audit.js'
import { accountIn, accountOut, apiKeyIn, assignmentOut, out, systemIn, userIn } from './memory-rows.js'
import {
  assignmentKey,
  compareText,
  deleteChallenge,
  type MemoryStoreDeps,
  references,
  unique,
} from './memory-tables.js'

// The in-memory storage's accounts, API keys, systems, users and assignments, with the semantics of
// adapters/kysely/src/kysely-storage.ts (a unique key refused, a foreign key checked, a cascade on
// delete, and the same columns written by each update).

/** The Storage methods about who signs in where. */
export type DirectoryMethods = AccountStore & ApiKeyStore & SystemStore & UserStore

/** Accounts, keys, systems, users and assignments in memory. */
export function memoryDirectory({ tables, slot, run }: MemoryStoreDeps): DirectoryMethods {
  const audit = (drafts: readonly AuditDraft[]) => appendAudit(tables, slot, drafts)
  const userById = (id: string) => tables.users.get(id)

  return {
    insertAccount: (row) =>
      run('insertAccount', () => {
        unique(tables.accounts.has(row.id), 'fs_accounts.id')
        tables.accounts.set(row.id, accountIn(row))
        openAuditChain(tables, slot, row.id)
      }),
    getAccount: (id) =>
      run('getAccount', () => {
        const row = tables.accounts.get(id)
        return row ? accountOut(row) : null
      }),
    listAccounts: () =>
      run('listAccounts', () =>
        tables.accounts
          .values()
          .sort((a, b) => compareText(a.id, b.id))
          .map(accountOut),
      ),
    updateAccountSettings: (id, change, auditOf) =>
      run('updateAccountSettings', () => {
        const row = tables.accounts.get(id)
        if (!row) return null
        const next = change(accountOut(row).settings)
        tables.accounts.set(id, accountIn({ ...row, settings: next }))
        audit(auditOf(next))
        return next
      }),

    insertApiKey: (row, drafts) =>
      run('insertApiKey', () => {
        unique(tables.apiKeys.has(row.id), 'fs_api_keys.id')
        unique(
          tables.apiKeys.values().some((key) => key.sha256 === row.sha256),
          'fs_api_keys.sha256',
        )
        references(tables.accounts.has(row.accountId), 'fs_api_keys.account_id')
        tables.apiKeys.set(row.id, apiKeyIn(row))
        audit(drafts)
      }),
    listApiKeys: (accountId) =>
      run('listApiKeys', () =>
        tables.apiKeys
          .values()
          .filter((key) => key.accountId === accountId)
          .sort((a, b) => a.createdAt - b.createdAt || compareText(a.id, b.id))
          .map(out),
      ),
    getApiKeyBySha256: (sha256) =>
      run('getApiKeyBySha256', () => {
        const row = tables.apiKeys.values().find((key) => key.sha256 === sha256)
        return row ? out(row) : null
      }),
    revokeApiKey: (accountId, id, at, drafts) =>
      run('revokeApiKey', () => {
        const row = tables.apiKeys.get(id)
        if (!row || row.accountId !== accountId || row.revokedAt !== null) return false
        tables.apiKeys.set(id, { ...row, revokedAt: at })
        audit(drafts)
        return true
      }),
    touchApiKey: (id, at, minIntervalMs) =>
      run('touchApiKey', () => {
        const row = tables.apiKeys.get(id)
        if (row && (row.lastUsedAt === null || row.lastUsedAt <= at - minIntervalMs))
          tables.apiKeys.set(id, { ...row, lastUsedAt: at })
      }),

    insertSystem: (row, drafts) =>
      run(
        'insertSystem',
        () => {
          unique(tables.systems.has(row.id), 'fs_systems.id')
          unique(
            tables.systems.values().some((s) => s.accountId === row.accountId && s.name === row.name),
            'fs_systems (account_id, name)',
          )
          references(tables.accounts.has(row.accountId), 'fs_systems.account_id')
          tables.systems.set(row.id, systemIn(row))
          audit(drafts)
        },
        'name',
      ),
    updateSystem: (row, drafts, expectedUpdatedAt) =>
      run('updateSystem', () => {
        const stored = tables.systems.get(row.id)
        if (!stored || (expectedUpdatedAt !== undefined && stored.updatedAt !== expectedUpdatedAt))
          throw new ConflictError('system', 'was changed by someone else meanwhile; read it again and retry')
        const next = systemIn(row)
        tables.systems.set(row.id, {
          ...stored,
          policies: next.policies,
          returnUrl: next.returnUrl,
          messages: next.messages,
          sensitivity: next.sensitivity,
          rules: next.rules,
          updatedAt: next.updatedAt,
        })
        audit(drafts)
      }),
    getSystem: (accountId, name) =>
      run('getSystem', () => {
        const row = tables.systems.values().find((s) => s.accountId === accountId && s.name === name)
        return row ? out(row) : null
      }),
    listSystems: (accountId) =>
      run('listSystems', () =>
        tables.systems
          .values()
          .filter((s) => s.accountId === accountId)
          .sort((a, b) => compareText(a.name, b.name))
          .map(out),
      ),

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

    recordFailure: (userId, at, decide, drafts, lockAudit) =>
      run('recordFailure', () => {
        const user = userById(userId)
        if (!user) {
          audit(drafts)
          return { streak: 0, locked: false }
        }
        const streak = user.failureStreak + 1
        const { retryAfter, lock } = decide(streak)
        // Never shorten a delay already running.
        const kept =
          user.retryAfter === null || (retryAfter !== null && user.retryAfter < retryAfter)
            ? retryAfter
            : user.retryAfter
        tables.users.set(userId, {
          ...user,
          failureStreak: streak,
          retryAfter: kept,
          status: lock ? 'locked' : user.status,
          updatedAt: at,
        })
        audit(lock ? [...drafts, lockAudit(streak)] : drafts)
        return { streak, locked: lock }
      }),
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

    setMemorizedPin: (userId, hash, at, drafts) =>
      run('setMemorizedPin', () => {
        const user = userById(userId)
        if (user) tables.users.set(userId, { ...user, memorizedPinHash: hash, updatedAt: at })
        audit(drafts)
      }),
  }
}
