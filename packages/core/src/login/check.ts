import { isLive, transitionTo } from '../domain/challenge-lifecycle.js'
import { StorageError, ValidationError } from '../domain/errors.js'
import { contextString } from '../domain/login-input.js'
import type { CheckResult, SecurityReason } from '../domain/model.js'
import { DEFAULT_POLICIES } from '../policy/system-policy.js'
import { type EngineContext, emit } from '../ports/engine-context.js'
import type { AuditDraft, ChallengeRow } from '../ports/storage.js'
import { readCheckSubject, reread, type ViewedChallenge } from './check-view.js'
import { failureOf } from './failure-streaks.js'
import { admitted, auditRefusal, challengeEvent, loginInput, refuseSubject } from './login-gate.js'
import { pendingAnswer, verifyPin } from './pin-verification.js'

/**
 * What a host passes to `check`; `pin` only for PIN challenges. A number (the product guide sends
 * `"pin": 12345678`) is left-padded with zeros to the challenge's PIN length.
 */
export interface CheckInput {
  readonly system: string
  readonly authid: string
  readonly pin?: string | number
  /**
   * The challenge this poller waits for, as `start` returned it. When given and no longer current (a
   * newer start superseded it), `check` answers `no_pending_challenge` instead of the newer login's
   * outcome, so one session can never be answered with another's `authenticated`.
   */
  readonly challengeId?: string
  /**
   * Where this check comes from, for the audit (S25): `ip` and `userAgent` of the user's request as the
   * host saw it. Validated like `start`'s context; other keys are accepted and ignored.
   */
  readonly context?: Readonly<Record<string, string | number | boolean>>
}

/** How many times `check` re-reads a challenge that moved under it before giving up. */
const CHECK_REREADS = 3

/** How the caller reached `check`: the HTTP layer passes the API key's id, for its budget (S31) and the audit. */
export interface CheckOptions {
  readonly apiKeyId?: string
}

/** A PIN as typed: a string of at most 32 characters, or a whole number that fits a 10-digit PIN. */
function requirePin(value: unknown): string | number | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0 || value >= 1e10)
      throw new ValidationError('pin', 'must be a string of digits or a whole number of at most 10 digits')
    return value
  }
  if (typeof value !== 'string' || value.length > 32)
    throw new ValidationError('pin', 'must be a string of at most 32 characters')
  return value
}

/** A PIN as the user typed it: a number (the product guide sends one) left-padded to the PIN's length. */
const asTyped = (pin: string | number, length: number): string =>
  typeof pin === 'number' ? String(pin).padStart(length, '0') : pin

/**
 * S20: a decoy's answer costs what the same answer of a real challenge costs, in hashes and writes. A
 * PIN guess: the hash a real guess verifies (argon2id or an HMAC, as the engine keeps one-time PINs; only
 * a guess of the PIN's length, `pinLength`, is verified), then the audit of its failure. `expired`: the
 * audit a real challenge writes with its move. Both are answered at their commit, as a real challenge's
 * moves are (deferred: docs/decisions.md). A refusal: the audited refusal, within the same budget (S31).
 * A pending poll: nothing, as a real one. Left: a real wrong PIN writes twice (the attempt taken, then the
 * failure streak) under argon2id or on a store without `settlePinAttempt`, a decoy's once; a real
 * challenge's `expired` is never over a budget.
 */
async function payForDecoy(
  ctx: EngineContext,
  answer: CheckResult,
  pin: string | number | null,
  pinLength: number,
  audited: (outcome: string, reason: SecurityReason | null) => AuditDraft,
): Promise<CheckResult> {
  if (answer.result === 'expired')
    // Within the refusals' budget, where a real expiry writes anyway: a decoy remembers its one `expired`
    // in this process only, so an id it forgot (past the memory's bound, or on another instance) answers
    // it again, and unbudgeted every such poll would be a write.
    await auditRefusal(ctx, audited('expired', null), 'check', 'deferred')
  else if (answer.result === 'security error') {
    if (pin !== null && (answer.reason === 'wrong_pin' || answer.reason === 'attempts_exhausted')) {
      const typed = asTyped(pin, pinLength)
      if (typed.length === pinLength) await ctx.hasher.hash(typed)
      await ctx.storage.audit.appendAudit([audited('security error', answer.reason)], 'deferred')
    } else await auditRefusal(ctx, audited('security error', answer.reason), 'check')
  }
  return answer
}

/**
 * Answers a host's poll or PIN submission for the current challenge of (system, authid), moving it
 * with one conditional write when the answer changes its state.
 */
export async function checkLogin(
  ctx: EngineContext,
  accountId: string,
  input: CheckInput,
  actor: string,
): Promise<CheckResult> {
  const { systemName, authid, context } = loginInput(input)
  const pin = requirePin(input.pin)
  const { challengeId } = input
  if (challengeId !== undefined && (typeof challengeId !== 'string' || challengeId.length > 64))
    throw new ValidationError('challengeId', 'must be a challenge id')
  // S31: before any read, hash or write, and whoever the login is for.
  const throttled = admitted(ctx, 'check', accountId, actor)
  if (throttled) return throttled
  // One read: the login's narrow view for a poll, the whole subject with a PIN (check-view.ts).
  const { view, current: read } = await readCheckSubject(ctx, accountId, systemName, authid, pin)
  const refusal = refuseSubject(view.system, view.user, view.assigned)
  const { uniformResponses } = view.settings
  const { lockout } = ctx.effective(view.settings)
  // S19: polls are counted per login as storage resolved it, never per spelling of its names (a
  // case- or accent-insensitive collation reaches one user under many spellings).
  const login =
    view.user && view.system
      ? `login:${view.user.id}:${view.system.id}`
      : challengeId !== undefined
        ? `challenge:${accountId}:${challengeId}`
        : null
  const pollWait = login === null ? 0 : ctx.throttle.admitPoll(login, accountId, actor, ctx.clock.now())
  if (pollWait > 0) return { result: 'rate limited', retryAfter: new Date(ctx.clock.now() + pollWait) }
  // A success clears the user's failure streak; when the user had none as we read it, skip that write.
  // (A failure landing between the read and the success then stays counted: the stricter side.)
  const resetFailuresOf =
    view.user && (view.user.failureStreak > 0 || view.user.retryAfter !== null) ? view.user.id : undefined
  /** S17: one more consecutive failure for this user; delays grow and the 100th locks. */
  const failed = (row: ChallengeRow, at: number) =>
    failureOf(row.userId, at, lockout, draft(at, row, 'locked', 'locked'))
  const draft = (
    at: number,
    row: ViewedChallenge | null,
    outcome: string,
    reason: SecurityReason | null,
  ): AuditDraft => ({
    accountId,
    at,
    type: 'challenge.checked',
    actor,
    system: systemName,
    authid,
    challengeId: row?.id ?? null,
    outcome,
    reason,
    ip: contextString(context, 'ip'),
    userAgent: contextString(context, 'userAgent'),
    details: row?.method === 'pin' && outcome === 'security error' ? { attempts: row.attempts } : null,
  })
  /** A refusal that changes nothing: audited, or counted past the minute's budget (S31). */
  const refuse = async (
    row: ViewedChallenge | null,
    reason: SecurityReason,
    final = true,
  ): Promise<CheckResult> => {
    const at = ctx.clock.now()
    await auditRefusal(ctx, draft(at, row, 'security error', reason), 'check')
    if (row) emit(ctx, 'challenge.failed', { ...challengeEvent(row, at), reason, final })
    return { result: 'security error', reason }
  }
  // S20: a check naming a decoy a refused start answered with hears what a real challenge would say, at
  // what the real answer costs.
  if (uniformResponses && challengeId !== undefined && view.challenge?.id !== challengeId) {
    const decoy = ctx.decoys.check(
      challengeId,
      { accountId, system: systemName, authid },
      pin,
      ctx.clock.now(),
      view.system?.policies.pin.attempts,
    )
    if (decoy)
      return payForDecoy(
        ctx,
        decoy,
        pin,
        (view.system?.policies ?? DEFAULT_POLICIES).pin.pinLength,
        (outcome, reason) => ({
          ...draft(ctx.clock.now(), null, outcome, reason),
          details: { decoy: challengeId },
        }),
      )
  }
  if (refusal) {
    if (!uniformResponses) return refuse(null, refusal.reason)
    // S20: whether the user exists, is disabled or locked is not for the caller to learn: a real user
    // with nothing pending answers the same. The audit keeps the true reason.
    const refused = draft(ctx.clock.now(), null, 'security error', refusal.reason)
    await auditRefusal(ctx, { ...refused, details: { answered: 'no_pending_challenge' } }, 'check')
    return { result: 'security error', reason: 'no_pending_challenge' }
  }
  if (challengeId !== undefined && view.challenge?.id !== challengeId)
    return refuse(null, 'no_pending_challenge')
  let current = read
  for (let reads = 0; current && reads < CHECK_REREADS; reads++) {
    const { row } = current
    const now = ctx.clock.now()
    const live = isLive(row.status)

    if (live && now >= row.expiresAt) {
      const expired = draft(now, row, 'expired', null)
      if (
        await ctx.storage.logins.transitionChallenge(transitionTo('expireOnCheck', row.id, now), [expired])
      ) {
        emit(ctx, 'challenge.expired', challengeEvent(row, now))
        return { result: 'expired' }
      }
    } else if (live && view.system && !view.system.policies[row.method].enabled) {
      // The administrator turned the method off while this login waited: it ends here, whatever it
      // carries (docs/architecture.md, "Turning a method off").
      const ended = draft(now, row, 'security error', 'method_not_enabled')
      if (
        await ctx.storage.logins.transitionChallenge(transitionTo('endDisabledMethod', row.id, now), [ended])
      ) {
        emit(ctx, 'challenge.failed', {
          ...challengeEvent(row, now),
          reason: 'method_not_enabled',
          final: true,
        })
        return { result: 'security error', reason: 'method_not_enabled' }
      }
    } else if (row.status === 'expired' && !row.outcomeReported) {
      // Swept by runDue before anyone asked: the first check still hears `expired`.
      if (
        await ctx.storage.logins.transitionChallenge(transitionTo('reportExpired', row.id, now), [
          draft(now, row, 'expired', null),
        ])
      )
        return { result: 'expired' }
    } else if (row.status === 'failed' && !row.outcomeReported) {
      // Burned away from check (too many wrong match codes on the link's page): the poller hears it once.
      if (
        await ctx.storage.logins.transitionChallenge(transitionTo('reportFailed', row.id, now), [
          draft(now, row, 'security error', 'attempts_exhausted'),
        ])
      )
        return { result: 'security error', reason: 'attempts_exhausted' }
    } else if (row.status === 'confirmed' && row.extraLayer === 'memorized_pin') {
      // The delivered layer is done; the PIN the user knows is next.
      if (current.pin === null) return pendingAnswer(ctx, row, 'memorized_pin')
      const memorized = current.memorizedPinHash
      if (memorized === null) return refuse(row, 'policy_denied')
      if (typeof current.pin === 'number')
        throw new ValidationError('pin', 'send a memorized PIN as a string: a number loses its leading zeros')
      const verdict = await verifyPin(ctx, current.row, current.pin, draft, failed, resetFailuresOf, {
        hash: memorized,
        length: null,
        from: 'confirmed',
      })
      if (verdict) return verdict
    } else if (row.status === 'confirmed') {
      const done = draft(now, row, 'authenticated', null)
      if (
        await ctx.storage.logins.transitionChallenge(
          transitionTo('acceptConfirmedLink', row.id, now),
          [done],
          resetFailuresOf,
        )
      ) {
        emit(ctx, 'challenge.authenticated', challengeEvent(row, now))
        return { result: 'authenticated', challengeId: row.id }
      }
    } else if (row.status === 'authenticated' && !row.outcomeReported) {
      // Same device: a redeemed completion code authenticated it; the original device hears it once too.
      if (
        await ctx.storage.logins.transitionChallenge(
          transitionTo('reportAuthenticated', row.id, now),
          [draft(now, row, 'authenticated', null)],
          resetFailuresOf,
        )
      ) {
        emit(ctx, 'challenge.authenticated', challengeEvent(row, now))
        return { result: 'authenticated', challengeId: row.id }
      }
    } else if (row.status === 'pending') {
      if (current.pin === null) return pendingAnswer(ctx, row, row.method)
      if (row.method !== 'pin') return refuse(row, 'wrong_method', false)
      const whole = current.row
      const typed = asTyped(current.pin, whole.pinLength ?? 0)
      const verdict = await verifyPin(ctx, whole, typed, draft, failed, resetFailuresOf, {
        hash: whole.pinHash,
        length: whole.pinLength,
        from: 'pending',
      })
      if (verdict) return verdict
    } else {
      return refuse(row, 'no_pending_challenge')
    }
    // The challenge moved between our read and our write: read it again and answer for its new state.
    current = reread(current, await ctx.storage.logins.getChallenge(row.id))
  }
  if (current) throw new StorageError('the challenge kept changing under check; giving up')
  return refuse(null, 'no_pending_challenge')
}
