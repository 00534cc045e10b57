import { NotFoundError } from '../domain/errors.js'
import type { ChallengeEvent } from '../domain/events.js'
import { requireContext, requireName } from '../domain/login-input.js'
import type { SecurityReason } from '../domain/model.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { Operation } from '../ports/login-guards.js'
import type { AuditDraft, ChallengeRow, LoginSubject, UserRow } from '../ports/storage.js'

// What `start`, `simulate` and `check` do before anything that is theirs alone: take the call's budget,
// check the input, read the login's subject and refuse what no login may go on with.

/** Why a login cannot go on, before anything is issued or checked. */
export type Refusal = { readonly reason: SecurityReason }

/**
 * S31: one call of `operation` against the budgets of its key and its account, taken before anything
 * else; a refused call is counted into the minute's summary and answered `rate limited`.
 */
export function admitted(
  ctx: EngineContext,
  operation: Operation,
  accountId: string,
  actor: string,
): { readonly result: 'rate limited'; readonly retryAfter: Date } | null {
  const now = ctx.clock.now()
  const wait = ctx.throttle.admit(operation, accountId, actor, now)
  return wait > 0 ? { result: 'rate limited', retryAfter: new Date(now + wait) } : null
}

/**
 * S31: a refusal that changes nothing gets its own audit event while its key's minute has room for
 * one; past that it is only counted, and the minute's summary event says how many. `durability`
 * `deferred`: answered at its commit (`AuditStore.appendAudit`).
 */
export async function auditRefusal(
  ctx: EngineContext,
  draft: AuditDraft,
  operation: Operation,
  durability?: 'deferred',
): Promise<void> {
  const what = `${operation}: ${draft.reason ?? draft.outcome}`
  if (ctx.throttle.auditRefusal(draft.accountId, draft.actor, what, draft.at))
    await ctx.storage.audit.appendAudit([draft], durability)
}

/** The checks shared by `start` and `check`, in the order the reasons are reported. */
export function refuseSubject(
  system: object | null,
  user: Pick<UserRow, 'status'> | null,
  assigned: boolean,
): Refusal | null {
  if (!system) return { reason: 'unknown_system' }
  if (!user) return { reason: 'unknown_user' }
  if (user.status === 'disabled') return { reason: 'user_disabled' }
  if (user.status === 'locked') return { reason: 'locked' }
  if (!assigned) return { reason: 'not_assigned' }
  return null
}

/** The subject of a known account; an unknown account is a caller's bug, not a login outcome. */
export async function resolve(
  ctx: EngineContext,
  accountId: string,
  system: string,
  authid: string,
): Promise<LoginSubject> {
  const subject = await ctx.storage.logins.resolveLogin(accountId, system, authid)
  if (!subject) throw new NotFoundError('account', accountId)
  return subject
}

/** The payload of a challenge's events (`challenge.started`, `.failed`, …) at `at`. */
export function challengeEvent(
  row: Pick<ChallengeRow, 'accountId' | 'id' | 'systemName' | 'authid' | 'method'>,
  at: number,
): ChallengeEvent {
  return {
    accountId: row.accountId,
    challengeId: row.id,
    system: row.systemName,
    authid: row.authid,
    method: row.method,
    at: new Date(at),
  }
}

/** What start, simulate and check all take: the system, the user, and where the request came from. */
export function loginInput(input: {
  readonly system: string
  readonly authid: string
  readonly context?: unknown
}) {
  return {
    systemName: requireName(input?.system, 'system'),
    authid: requireName(input?.authid, 'authid'),
    context: requireContext(input?.context),
  }
}
