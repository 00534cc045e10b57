import type { AdminQueryStore, DeliveryListing, LoginCount } from '../ports/admin-query-store.js'
import type { ConsoleSessionRow, ConsoleSessionStore } from '../ports/console-session-store.js'
import type { AuditEvent, UserRow } from '../ports/rows.js'
import { appendAudit, auditMatches } from './memory-audit.js'
import { out } from './memory-rows.js'
import {
  assignmentKey,
  compareText,
  countKey,
  jsonCopy,
  type MemoryStoreDeps,
  references,
  type StoredAdminState,
  unique,
} from './memory-tables.js'

// The in-memory storage's optional console stores (sessions, admin queries), with the semantics of
// adapters/kysely/src/console-session-queries.ts and admin-queries.ts.

const WAITING = new Set(['queued', 'failed'])
const LIVE = new Set(['pending', 'confirmed'])

/** The console's sessions in memory. */
export function memoryConsoleSessions({ tables, slot, run }: MemoryStoreDeps): ConsoleSessionStore {
  const sessions = tables.consoleSessions
  /** A session's token and login are unique across sessions, as their SQL unique indexes make them. */
  const taken = (id: string, field: 'tokenHash' | 'challengeId', value: string) =>
    sessions.values().some((s) => s.id !== id && s[field] === value)

  return {
    insert: (row, audit) =>
      run(
        'consoleSessions.insert',
        () => {
          unique(sessions.has(row.id), 'fs_console_sessions.id')
          unique(taken(row.id, 'tokenHash', row.tokenHash), 'fs_console_sessions.token_hash')
          unique(taken(row.id, 'challengeId', row.challengeId), 'fs_console_sessions.challenge_id')
          references(tables.accounts.has(row.accountId), 'fs_console_sessions.account_id')
          references(tables.users.has(row.userId), 'fs_console_sessions.user_id')
          sessions.set(row.id, { ...row, ip: row.ip ?? null, userAgent: row.userAgent ?? null })
          appendAudit(tables, slot, audit)
        },
        'challengeId',
      ),

    find: (tokenHash, consoleSystem) =>
      run('consoleSessions.find', () => {
        const session = sessions.values().find((s) => s.tokenHash === tokenHash)
        const user = session && tables.users.get(session.userId)
        if (!session || !user) return null
        const system = tables.systems
          .values()
          .find((s) => s.accountId === session.accountId && s.name === consoleSystem)
        return {
          session: out(session),
          userStatus: user.status,
          userAttributes: jsonCopy(user.attributes),
          assigned: system !== undefined && tables.assignments.has(assignmentKey(user.id, system.id)),
        }
      }),

    touch: (id, at, minIntervalMs) =>
      run('consoleSessions.touch', () => {
        const session = sessions.get(id)
        if (session && session.lastSeenAt <= at - minIntervalMs)
          sessions.set(id, { ...session, lastSeenAt: at })
      }),

    reauthenticate: (id, challengeId, at, audit) =>
      run(
        'consoleSessions.reauthenticate',
        () => {
          const session = sessions.get(id)
          if (!session || session.revokedAt !== null) return false
          unique(taken(id, 'challengeId', challengeId), 'fs_console_sessions.challenge_id')
          sessions.set(id, { ...session, authenticatedAt: at, lastSeenAt: at, challengeId })
          appendAudit(tables, slot, audit)
          return true
        },
        'challengeId',
      ),

    list: (accountId, userId, at) =>
      run('consoleSessions.list', () =>
        sessions
          .values()
          .filter(
            (s) =>
              s.accountId === accountId && s.userId === userId && s.revokedAt === null && s.expiresAt > at,
          )
          .sort((a, b) => b.createdAt - a.createdAt || compareText(a.id, b.id))
          .slice(0, 100)
          .map(out),
      ),

    revoke: (accountId, userId, id, at, audit) =>
      run('consoleSessions.revoke', () => {
        const session = sessions.get(id)
        if (
          !session ||
          session.accountId !== accountId ||
          session.userId !== userId ||
          session.revokedAt !== null
        )
          return false
        sessions.set(id, { ...session, revokedAt: at })
        appendAudit(tables, slot, audit)
        return true
      }),

    sweep: (before, idleBefore) =>
      run('consoleSessions.sweep', () => {
        const gone = (s: ConsoleSessionRow) =>
          (s.revokedAt !== null && s.revokedAt <= before) ||
          s.expiresAt <= before ||
          s.lastSeenAt <= idleBefore
        let swept = 0
        for (const session of sessions.values()) if (gone(session) && sessions.delete(session.id)) swept++
        return swept
      }),
  }
}

/** The smallest string above every string that starts with `prefix` (in code point order), or null. */
function prefixEnd(prefix: string): string | null {
  const points = [...prefix]
  const last = points.pop()?.codePointAt(0)
  if (last === undefined || last >= 0x10ffff) return null
  const next = last + 1 === 0xd800 ? 0xe000 : last + 1
  return points.join('') + String.fromCodePoint(next)
}

/** What administrators' screens read, in memory. */
export function memoryAdminQueries({ tables, slot, run }: MemoryStoreDeps): AdminQueryStore {
  const NO_STATE = { countedSeq: 0, verifiedAt: null, verdict: null }
  /** The account's state row, created on first write (it must belong to an existing account). */
  const stateOf = (accountId: string): StoredAdminState => {
    const state = tables.adminState.get(accountId)
    if (state) return state
    references(tables.accounts.has(accountId), 'fs_admin_state.account_id')
    const created = { accountId, ...NO_STATE }
    tables.adminState.set(accountId, created)
    return created
  }
  const events = (accountId: string): readonly AuditEvent[] => tables.auditEvents.get(accountId) ?? []

  return {
    searchUsers: (query) =>
      run('adminQueries.searchUsers', () => {
        const end = query.prefix === '' ? null : prefixEnd(query.prefix)
        const after = query.after
        const keyOf = (user: UserRow) => user[query.field] as string
        const found = tables.users.values().filter((user) => {
          const value = user[query.field]
          if (user.accountId !== query.accountId || value === null) return false
          if (query.status !== undefined && user.status !== query.status) return false
          if (compareText(value, query.prefix) < 0 || (end !== null && compareText(value, end) >= 0))
            return false
          if (!after) return true
          const order = compareText(value, after.value)
          // authid is unique in the account, so it orders alone.
          return order > 0 || (order === 0 && query.field !== 'authid' && compareText(user.id, after.id) > 0)
        })
        return found
          .sort((a, b) => compareText(keyOf(a), keyOf(b)) || compareText(a.id, b.id))
          .slice(0, Math.max(0, query.limit))
          .map(out)
      }),

    countUsers: (accountId, status) =>
      run(
        'adminQueries.countUsers',
        () => tables.users.values().filter((u) => u.accountId === accountId && u.status === status).length,
      ),

    listDeliveries: (query) =>
      run('adminQueries.listDeliveries', () => {
        const waiting = query.queue === 'waiting'
        const at = (d: { nextAttemptAt: number; updatedAt: number }) =>
          waiting ? d.nextAttemptAt : d.updatedAt
        // Waiting: soonest first, then by id; abandoned: newest first, then by id descending.
        const order = (a: { id: string } & Parameters<typeof at>[0], b: typeof a) =>
          (waiting ? 1 : -1) * (at(a) - at(b) || compareText(a.id, b.id))
        const after = query.after
        return tables.deliveries
          .values()
          .filter(
            (d) =>
              d.accountId === query.accountId &&
              (waiting ? WAITING.has(d.status) : d.status === 'abandoned') &&
              (!after || order(d, { id: after.id, nextAttemptAt: after.at, updatedAt: after.at }) > 0),
          )
          .sort(order)
          .slice(0, Math.max(0, query.limit))
          .map((d): DeliveryListing => {
            const { payload: _payload, ...row } = out(d)
            const challenge = tables.challenges.get(d.challengeId)
            return { ...row, system: challenge?.systemName ?? null, authid: challenge?.authid ?? null }
          })
      }),

    countDeliveries: (accountId, since) =>
      run('adminQueries.countDeliveries', () => {
        const mine = tables.deliveries.values().filter((d) => d.accountId === accountId)
        return {
          waiting: mine.filter((d) => WAITING.has(d.status)).length,
          abandoned: mine.filter((d) => d.status === 'abandoned' && d.updatedAt >= since).length,
        }
      }),

    requeueDelivery: (accountId, id, at, audit) =>
      run('adminQueries.requeueDelivery', () => {
        const d = tables.deliveries.get(id)
        if (
          !d ||
          d.accountId !== accountId ||
          !WAITING.has(d.status) ||
          d.payload === null ||
          d.expiresAt <= at ||
          (d.claimedUntil !== null && d.claimedUntil > at)
        )
          return false
        tables.deliveries.set(id, { ...d, nextAttemptAt: at, updatedAt: at })
        appendAudit(tables, slot, audit)
        return true
      }),

    countLiveChallenges: (accountId, at) =>
      run(
        'adminQueries.countLiveChallenges',
        () =>
          tables.challenges
            .values()
            .filter((c) => c.accountId === accountId && LIVE.has(c.status) && c.expiresAt > at).length,
      ),

    newestAudit: (query) =>
      run('adminQueries.newestAudit', () => {
        const found: AuditEvent[] = []
        const list = events(query.accountId)
        for (let i = list.length - 1; i >= 0 && found.length < query.limit; i--) {
          const event = list[i] as AuditEvent
          if (event.seq < query.below && event.seq >= query.atLeast && auditMatches(event, query))
            found.push(out(event))
        }
        return found
      }),

    auditAtOrAfter: (accountId, seq) =>
      run('adminQueries.auditAtOrAfter', () => {
        const event = events(accountId).find((e) => e.seq >= seq)
        return event ? { seq: event.seq, at: event.at } : null
      }),

    adminState: (accountId) =>
      run('adminQueries.adminState', () => {
        const state = tables.adminState.get(accountId)
        if (!state) return { ...NO_STATE }
        return { countedSeq: state.countedSeq, verifiedAt: state.verifiedAt, verdict: out(state.verdict) }
      }),

    addLoginCounts: (accountId, fromSeq, toSeq, counts) =>
      run('adminQueries.addLoginCounts', () => {
        const state = stateOf(accountId)
        // The watermark moves only from where the caller read it: a second counter of the same events loses.
        if (state.countedSeq !== fromSeq) return false
        tables.adminState.set(accountId, { ...state, countedSeq: toSeq })
        for (const count of counts) {
          const key = countKey(accountId, count.hour, count.system)
          const stored = tables.loginCounts.get(key)
          tables.loginCounts.set(key, {
            accountId,
            hour: count.hour,
            system: count.system,
            succeeded: (stored?.succeeded ?? 0) + count.succeeded,
            failed: (stored?.failed ?? 0) + count.failed,
          })
        }
        return true
      }),

    loginCounts: (accountId, fromHour, toHour) =>
      run('adminQueries.loginCounts', () =>
        tables.loginCounts
          .values()
          .filter((c) => c.accountId === accountId && c.hour >= fromHour && c.hour < toHour)
          .sort((a, b) => a.hour - b.hour || compareText(a.system, b.system))
          .map(({ hour, system, succeeded, failed }): LoginCount => ({ hour, system, succeeded, failed })),
      ),

    recordVerdict: (accountId, at, verdict) =>
      run('adminQueries.recordVerdict', () => {
        const state = stateOf(accountId)
        // As the SQL table keeps it: the problem cut to 512 characters.
        const kept = verdict.ok ? { ...verdict } : { ...verdict, problem: verdict.problem.slice(0, 512) }
        tables.adminState.set(accountId, { ...state, verifiedAt: at, verdict: kept })
      }),
  }
}
