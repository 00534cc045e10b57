import { pollViewOf } from '../login/check-view.js'
import type {
  AuditDraft,
  ChallengeRow,
  ChallengeTransition,
  IssueOutcome,
  LoginStore,
  LoginSubject,
  PinVerdict,
  SendLimit,
} from '../ports/storage.js'
import { appendAudit } from './memory-audit.js'
import { insertDelivery } from './memory-outbox.js'
import { accountOut, assignmentOut, challengeIn, challengeOut, out } from './memory-rows.js'
import {
  assignmentKey,
  deleteChallenge,
  type MemoryStoreDeps,
  type MemoryTables,
  Rollback,
  references,
  type StoredChallenge,
  unique,
} from './memory-tables.js'
import { countFailure } from './memory-users.js'

// The in-memory storage's logins: the joined read, issuing with send limits and supersession, and
// every move of a challenge, each one conditional as its SQL statement in
// adapters/kysely/src/login-store.ts is.

const LIVE = new Set(['pending', 'confirmed'])
/** Challenge states that are over: nothing will move them again. */
const ENDED = new Set(['authenticated', 'failed', 'expired', 'superseded'])

/** Inserts a challenge, refusing a taken id or link hash and an unknown system or user. */
function insertChallenge(tables: MemoryTables, row: ChallengeRow): void {
  const stored = challengeIn(row)
  unique(tables.challenges.has(stored.id), 'fs_challenges.id')
  if (stored.linkHash !== null)
    unique(
      tables.challenges.values().some((c) => c.linkHash === stored.linkHash),
      'fs_challenges.link_hash',
    )
  references(tables.systems.has(stored.systemId), 'fs_challenges.system_id')
  references(tables.users.has(stored.userId), 'fs_challenges.user_id')
  tables.challenges.set(stored.id, stored)
}

/**
 * Counts one send against each limit in order: a window that ended starts again at 1; a counter at
 * its limit refuses. Returns the first limit that refused (the caller's transaction then undoes all).
 */
function takeLimits(tables: MemoryTables, limits: readonly SendLimit[], now: number): SendLimit | null {
  for (const limit of limits) {
    const window = tables.rateLimits.get(limit.key)
    if (!window || window.windowEnd <= now)
      tables.rateLimits.set(limit.key, { key: limit.key, count: 1, windowEnd: now + limit.windowMs })
    else if (window.count < limit.limit)
      tables.rateLimits.set(limit.key, { ...window, count: window.count + 1 })
    else return limit
  }
  return null
}

/** Challenges in memory. */
export function memoryLogins({ tables, slot, run }: MemoryStoreDeps): LoginStore {
  const audit = (drafts: readonly AuditDraft[]) => appendAudit(tables, slot, drafts)
  const userById = (id: string) => tables.users.get(id)
  const challengeById = (id: string) => tables.challenges.get(id)
  const setChallenge = (row: StoredChallenge) => tables.challenges.set(row.id, row)
  /** `row` after `move`, clearing the failure streak of `resetFailuresOf` (as transitionChallenge's SQL does). */
  const moved = (
    row: StoredChallenge,
    move: ChallengeTransition,
    resetFailuresOf?: string,
  ): StoredChallenge => {
    const user = resetFailuresOf === undefined ? undefined : userById(resetFailuresOf)
    if (user && (user.failureStreak > 0 || user.retryAfter !== null))
      tables.users.set(user.id, { ...user, failureStreak: 0, retryAfter: null })
    return {
      ...row,
      status: move.to,
      // `confirmed` is a step on the way (a link confirmed, a first layer passed), not an end.
      completedAt: move.to === 'confirmed' ? row.completedAt : (row.completedAt ?? move.at),
      outcomeReported: move.reported,
      attempts: move.resetAttempts ? 0 : row.attempts,
    }
  }

  // An attempt alone (`reserveAttempt`), or settled with what the PIN was (`settlePinAttempt`): the
  // same conditions for both.
  const takeAttempt = (
    operation: 'reserveAttempt' | 'settlePinAttempt',
    id: string,
    at: number,
    status: 'pending' | 'confirmed',
    verdict?: PinVerdict,
  ) =>
    run(operation, () => {
      const row = challengeById(id)
      if (
        !row ||
        row.status !== status ||
        row.outcomeReported ||
        row.expiresAt <= at ||
        row.attempts >= row.maxAttempts
      )
        return null
      const counted = { ...row, attempts: row.attempts + 1 }
      if (!verdict) setChallenge(counted)
      else if (verdict.right) {
        // The move ends the layer: the attempt just taken stays counted (`resetAttempts` is not read).
        setChallenge(moved(counted, { ...verdict.move, resetAttempts: false }, verdict.resetFailuresOf))
        audit(verdict.audit)
      } else {
        // The last attempt burns the challenge (a conditional move, as transitionChallenge's).
        const burns =
          counted.attempts >= counted.maxAttempts && (verdict.burn.from as readonly string[]).includes(status)
        setChallenge(burns ? moved(counted, verdict.burn) : counted)
        countFailure(tables, slot, verdict.failure, verdict.audit(counted.attempts))
      }
      return counted.attempts
    })

  /** The account, and whatever exists of system, user, assignment and current challenge. */
  const subjectOf = (accountId: string, systemName: string, authid: string): LoginSubject | null => {
    const account = tables.accounts.get(accountId)
    if (!account) return null
    const system = tables.systems.values().find((s) => s.accountId === accountId && s.name === systemName)
    const user = tables.users.values().find((u) => u.accountId === accountId && u.authid === authid)
    const assignment = user && system ? tables.assignments.get(assignmentKey(user.id, system.id)) : undefined
    const challenge = assignment?.challengeId ? challengeById(assignment.challengeId) : undefined
    return {
      account: accountOut(account),
      system: system ? out(system) : null,
      user: user ? out(user) : null,
      assignment: assignment ? assignmentOut(assignment) : null,
      challenge: challenge ? challengeOut(challenge, tables) : null,
    }
  }

  return {
    resolveLogin: (accountId, systemName, authid) =>
      run('resolveLogin', () => subjectOf(accountId, systemName, authid)),
    // The whole subject narrowed: what the SQL storage reads in fewer columns.
    pollLogin: (accountId, systemName, authid) =>
      run('pollLogin', () => pollViewOf(subjectOf(accountId, systemName, authid))),

    issueChallenge: (challenge, drafts, limits, deliveries = []) =>
      run<IssueOutcome>('issueChallenge', () => {
        const now = challenge.createdAt
        const refused = takeLimits(tables, limits, now)
        if (refused) {
          const window = tables.rateLimits.get(refused.key)
          throw new Rollback<IssueOutcome>({
            issued: false,
            reason: 'rate_limited',
            key: refused.key,
            retryAfter: window?.windowEnd ?? now + refused.windowMs,
          })
        }
        const key = assignmentKey(challenge.userId, challenge.systemId)
        const assignment = tables.assignments.get(key)
        if (!assignment) throw new Rollback<IssueOutcome>({ issued: false, reason: 'not_assigned' })
        // The pointer moves first and remembers what it replaced, which is superseded next.
        tables.assignments.set(key, {
          ...assignment,
          previousChallengeId: assignment.challengeId,
          challengeId: challenge.id,
        })
        const previous = assignment.challengeId === null ? undefined : challengeById(assignment.challengeId)
        if (previous && LIVE.has(previous.status))
          setChallenge({ ...previous, status: 'superseded', completedAt: now })
        insertChallenge(tables, challenge)
        for (const delivery of deliveries) insertDelivery(tables, delivery)
        audit(drafts)
        return { issued: true }
      }),

    getChallenge: (id) =>
      run('getChallenge', () => {
        const row = challengeById(id)
        return row ? challengeOut(row, tables) : null
      }),
    getChallengeByLinkHash: (linkHash) =>
      run('getChallengeByLinkHash', () => {
        const row = tables.challenges.values().find((c) => c.linkHash === linkHash)
        return row ? challengeOut(row) : null
      }),

    confirmLink: (linkHash, at, auditOf, matchCode = null) =>
      run('confirmLink', () => {
        const row = tables.challenges.values().find((c) => c.linkHash === linkHash)
        if (row?.status !== 'pending' || row.expiresAt <= at) return null
        let current = row
        if (row.matchCode !== null) {
          // Number matching (S12): every try, a missing code included, first takes an attempt; the
          // attempt stays spent whatever the code.
          if (row.attempts >= row.maxAttempts) return null
          current = { ...row, attempts: row.attempts + 1 }
          setChallenge(current)
          if (matchCode === null || matchCode !== row.matchCode) return null
        }
        const confirmed: StoredChallenge = { ...current, status: 'confirmed', attempts: 0 }
        setChallenge(confirmed)
        const answer = challengeOut(confirmed)
        audit([auditOf(answer)])
        return answer
      }),

    reserveAttempt: (id, at, status = 'pending') => takeAttempt('reserveAttempt', id, at, status),

    settlePinAttempt: (id, at, status, verdict) => takeAttempt('settlePinAttempt', id, at, status, verdict),

    transitionChallenge: (move, drafts, resetFailuresOf) =>
      run('transitionChallenge', () => {
        const row = challengeById(move.id)
        if (!row || row.outcomeReported || !(move.from as readonly string[]).includes(row.status))
          return false
        setChallenge(moved(row, move, resetFailuresOf))
        audit(drafts)
        return true
      }),

    userHistory: (userId, device) =>
      run('userHistory', () => {
        let lastSuccessAt: number | null = null
        let knownDevice = false
        for (const c of tables.challenges.values()) {
          if (c.userId !== userId || c.status !== 'authenticated') continue
          if (c.completedAt !== null && (lastSuccessAt === null || c.completedAt > lastSuccessAt))
            lastSuccessAt = c.completedAt
          if (device !== null && c.device === device) knownDevice = true
        }
        return { lastSuccessAt, knownDevice }
      }),

    expireDue: (at, limit, auditOf) =>
      run('expireDue', () => {
        const due = tables.challenges
          .values()
          .filter((c) => LIVE.has(c.status) && c.expiresAt <= at)
          .sort((a, b) => a.expiresAt - b.expiresAt)
          .slice(0, Math.max(0, limit))
        const expired = due.map((c) => {
          const next: StoredChallenge = { ...c, status: 'expired', completedAt: at }
          setChallenge(next)
          return challengeOut(next)
        })
        audit(expired.map(auditOf))
        return expired
      }),
    sweepRateLimits: (at) =>
      run('sweepRateLimits', () => {
        let swept = 0
        for (const window of tables.rateLimits.values())
          if (window.windowEnd <= at && tables.rateLimits.delete(window.key)) swept++
        return swept
      }),
    purgeEndedChallenges: (before, limit) =>
      run('purgeEndedChallenges', () => {
        const ended = tables.challenges
          .values()
          .filter((c) => ENDED.has(c.status) && c.expiresAt < before)
          .slice(0, Math.max(0, limit))
        // With every delivery of theirs; the audit trail keeps its events.
        for (const challenge of ended) deleteChallenge(tables, challenge.id)
        return ended.length
      }),
  }
}
