import { randomInt } from 'node:crypto'
import { maskDestination } from '../domain/contact-points.js'
import { NotFoundError, StorageError, ValidationError } from '../domain/errors.js'
import type { ChallengeEvent } from '../domain/events.js'
import { contextString, requireContext, requireName } from '../domain/login-input.js'
import type { CheckResult, Layer, SecurityReason, StartResult } from '../domain/model.js'
import { chooseReturnUrl } from '../domain/return-urls.js'
import { newId, newLinkToken, newPin, newTimeOrderedId, sha256Hex } from '../domain/secrets.js'
import { composeFor } from '../outbox/messages.js'
import { deliveryAudit, dispatch, newDelivery } from '../outbox/outbox.js'
import type { AccountSettings } from '../policy/account-settings.js'
import { delayAfter } from '../policy/account-settings.js'
import type { Decision } from '../policy/rules.js'
import { type EngineContext, emit } from '../ports/engine-context.js'
import type { Operation } from '../ports/login-guards.js'
import type { AuditDraft, ChallengeRow, LoginSubject, SendLimit } from '../ports/storage.js'
import { matchesNumbersInUniformMode } from './decoys.js'
import { rehashMemorizedPin } from './pin-rehash.js'
import { type DecidableSubject, deviceDigest, type HistoryOf, planStart } from './start-resolution.js'
import { paceLikeRealStart, recordRealStart } from './uniform-pacing.js'

/** What a host passes to `start`. */
export interface StartInput {
  readonly system: string
  readonly authid: string
  readonly context?: Readonly<Record<string, string | number | boolean>>
  /**
   * Same-device completion: one of the system's `policies.passwordless.returnUrls`, exactly. Once the
   * link is confirmed, its page sends the browser that clicked there with a single-use `code` for
   * `links.redeem`. An unlisted URL is refused with `ValidationError`; ignored for PIN logins.
   */
  readonly returnUrl?: string
}

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

type Refusal = { readonly reason: SecurityReason }

/** How the caller reached `start`: the HTTP layer passes the API key's id, for its send limit and the audit. */
export interface StartOptions {
  readonly apiKeyId?: string
}

/** How the caller reached `check`: the HTTP layer passes the API key's id, for its budget (S31) and the audit. */
export interface CheckOptions {
  readonly apiKeyId?: string
}

/**
 * S31: one call of `operation` against the budgets of its key and its account, taken before anything
 * else; a refused call is counted into the minute's summary and answered `rate limited`.
 */
function admitted(
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
 * one; past that it is only counted, and the minute's summary event says how many.
 */
async function auditRefusal(ctx: EngineContext, draft: AuditDraft, operation: Operation): Promise<void> {
  const what = `${operation}: ${draft.reason ?? draft.outcome}`
  if (ctx.throttle.auditRefusal(draft.accountId, draft.actor, what, draft.at))
    await ctx.storage.audit.appendAudit([draft])
}

const HOUR = 3_600_000

/**
 * The one hash a start costs: a one-time PIN's, or in uniform mode (S20) a throwaway one for a link or
 * a refusal. One function for both, so a refused start never costs more than a real one.
 */
const hashOneTimePin = (ctx: EngineContext, pin: string) => ctx.hasher.hash(pin)

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

/** The checks shared by `start` and `check`, in the order the reasons are reported. */
function refuseSubject(subject: LoginSubject): Refusal | null {
  if (!subject.system) return { reason: 'unknown_system' }
  if (!subject.user) return { reason: 'unknown_user' }
  if (subject.user.status === 'disabled') return { reason: 'user_disabled' }
  if (subject.user.status === 'locked') return { reason: 'locked' }
  if (!subject.assignment) return { reason: 'not_assigned' }
  return null
}

/** The subject of a known account; an unknown account is a caller's bug, not a login outcome. */
async function resolve(
  ctx: EngineContext,
  accountId: string,
  system: string,
  authid: string,
): Promise<LoginSubject> {
  const subject = await ctx.storage.logins.resolveLogin(accountId, system, authid)
  if (!subject) throw new NotFoundError('account', accountId)
  return subject
}

/**
 * The send limits of docs/security.md S18 that one start must fit under, counted in storage. `device` is the
 * keyed digest of a device this user has signed in from before: it gets budgets of its own, so a stranger
 * spending the user's hourly starts (or the destination's) cannot lock the user out of a known device.
 */
function sendLimits(
  ctx: EngineContext,
  settings: AccountSettings,
  accountId: string,
  userId: string,
  systemId: string,
  destination: string,
  apiKeyId: string | undefined,
  device: string | null,
): SendLimit[] {
  const limits = settings.sendLimits
  const pool = device ? `:device:${device}` : ''
  return [
    { key: `user:${userId}${pool}`, limit: limits.perUserPerHour, windowMs: HOUR },
    {
      // Keyed, so the table never holds a phone number that a plain hash would give back; global across
      // accounts, so SMS pumping one number through many accounts still meets one counter.
      key: `dest:${ctx.keyedDigest(destination).slice(0, 32)}${pool}`,
      limit: limits.perDestinationPerHour,
      windowMs: HOUR,
    },
    ...(apiKeyId ? [{ key: `key:${apiKeyId}`, limit: limits.perApiKeyPerMinute, windowMs: 60_000 }] : []),
    // A resend is a new start for the same login: one per user and system per cooldown.
    ...(limits.resendCooldownSeconds > 0
      ? [
          {
            key: `resend:${userId}:${systemId}${pool}`,
            limit: 1,
            windowMs: limits.resendCooldownSeconds * 1000,
          },
        ]
      : []),
    // Last: the counter every start of the account shares (storage takes it only once the others passed).
    { key: `account:${accountId}`, limit: limits.perAccountPerDay, windowMs: 24 * HOUR },
  ]
}

/** The device's digest when this user has authenticated from it before (its own send budget), else null. */
async function knownDevice(historyOf: HistoryOf, device: string | null): Promise<string | null> {
  if (device === null) return null
  return (await historyOf(device)).knownDevice ? device : null
}

function challengeEvent(row: ChallengeRow, at: number): ChallengeEvent {
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
function loginInput(input: { readonly system: string; readonly authid: string; readonly context?: unknown }) {
  return {
    systemName: requireName(input?.system, 'system'),
    authid: requireName(input?.authid, 'authid'),
    context: requireContext(input?.context),
  }
}

/** Starts a login: issues a challenge (superseding the live one) and sends its link or PIN. */
export async function startLogin(
  ctx: EngineContext,
  accountId: string,
  input: StartInput,
  options: StartOptions,
  actor: string,
): Promise<StartResult> {
  const began = performance.now()
  const { systemName, authid, context } = loginInput(input)
  // S31: before any read, hash or write, and whoever the login is for.
  const throttled = admitted(ctx, 'start', accountId, actor)
  if (throttled) return throttled
  const audit = (at: number, fields: Partial<AuditDraft> & Pick<AuditDraft, 'outcome'>): AuditDraft => ({
    accountId,
    at,
    type: 'challenge.started',
    actor,
    system: systemName,
    authid,
    challengeId: null,
    reason: null,
    ip: contextString(context, 'ip'),
    userAgent: contextString(context, 'userAgent'),
    details: null,
    ...fields,
  })

  const subject = await resolve(ctx, accountId, systemName, authid)
  const { uniformResponses } = subject.account.settings
  // S20: in uniform mode every start costs one PIN hash, real or not, so timing tells nothing either.
  const hashAnyway = () => hashOneTimePin(ctx, newPin(8))
  const now = ctx.clock.now()
  /** S20: the refusal audited with its true reason, answered with a decoy shaped like a real start. */
  const decoy = async (refused: AuditDraft): Promise<StartResult> => {
    const answer = ctx.decoys.start(
      { accountId, system: systemName, authid, systemRow: subject.system, assignment: subject.assignment },
      now,
    )
    const details = { ...refused.details, answered: 'success', decoy: answer.challengeId }
    await auditRefusal(ctx, { ...refused, details }, 'start')
    await paceLikeRealStart(ctx, began)
    return answer
  }
  const refusal = refuseSubject(subject)
  if (refusal) {
    const refused = audit(now, { outcome: 'security error', reason: refusal.reason })
    if (uniformResponses) {
      await hashAnyway()
      return decoy(refused)
    }
    await auditRefusal(ctx, refused, 'start')
    return { result: 'security error', reason: refusal.reason }
  }
  /** A refusal after the one hash a start costs (`hashed`), or before it. */
  const refuse = async (reason: SecurityReason, hashed = false): Promise<StartResult> => {
    const refused = audit(now, { outcome: 'security error', reason })
    if (uniformResponses) {
      if (!hashed) await hashAnyway()
      return decoy(refused)
    }
    await auditRefusal(ctx, refused, 'start')
    return { result: 'security error', reason }
  }
  const throttle = async (retryAfter: number, limit: string, hashed = false): Promise<StartResult> => {
    const refused = audit(now, { outcome: 'rate limited', details: { limit, retryAfter } })
    // In uniform mode a throttled real user must look like an unknown one (S20).
    if (uniformResponses) {
      if (!hashed) await hashAnyway()
      return decoy(refused)
    }
    await auditRefusal(ctx, refused, 'start')
    return { result: 'rate limited', retryAfter: new Date(retryAfter) }
  }

  const { account, system, user, assignment } = subject as DecidableSubject
  // The same plan simulate shows: delay, method switch, rules (skipped, with their cost, when the
  // system has none) and the channel that really reaches the user.
  let historyRead: ReturnType<HistoryOf> | undefined
  const historyOf: HistoryOf = (device) => {
    historyRead ??= ctx.storage.logins.userHistory((subject.user as { id: string }).id, device)
    return historyRead
  }
  const plan = await planStart(ctx, subject as DecidableSubject, context, now, false, historyOf)
  if (plan.kind === 'delayed') return throttle(plan.retryAfter, 'failures')
  if (plan.kind === 'unavailable')
    return refuse(plan.destinationRefused ? 'destination_refused' : 'method_not_enabled')
  // Exactly one of the listed URLs, or nothing: never a redirect the system did not list.
  const returnUrl =
    assignment.method === 'passwordless'
      ? chooseReturnUrl(input.returnUrl, system.policies.passwordless.returnUrls)
      : null
  if (plan.kind === 'denied') {
    const { decision } = plan
    const denied = audit(now, {
      outcome: 'security error',
      reason: 'policy_denied',
      details: { decision: decisionDetails(decision, system.rules.version) },
    })
    if (!uniformResponses) {
      await auditRefusal(ctx, denied, 'start')
      return { result: 'security error', reason: 'policy_denied' }
    }
    await hashAnyway()
    return decoy(denied)
  }
  const { decision, channel, destination, extraLayer, lifetimeSeconds, attempts } = plan
  // S12 in uniform mode too: there a system that asks for codes anywhere asks on every link start, so
  // the answer's shape (a `matchCode` or none) is the same for every user, real or decoy (S20).
  const matchCode =
    plan.numberMatching ||
    (uniformResponses && assignment.method === 'passwordless' && matchesNumbersInUniformMode(system))
      ? String(randomInt(1000)).padStart(3, '0')
      : null

  const isPin = assignment.method === 'pin'
  const token = isPin ? null : newLinkToken()
  const pin = isPin ? newPin(system.policies.pin.pinLength) : null
  const pinHash = pin ? await hashOneTimePin(ctx, pin) : null
  if (!pin && uniformResponses) await hashAnyway()
  const row: ChallengeRow = {
    id: newTimeOrderedId(now),
    accountId,
    systemId: system.id,
    userId: user.id,
    systemName: system.name,
    authid: user.authid,
    method: assignment.method,
    channel,
    status: 'pending',
    linkHash: token ? sha256Hex(token) : null,
    pinHash,
    pinLength: pin ? pin.length : null,
    attempts: 0,
    maxAttempts: isPin || extraLayer || matchCode ? attempts : 0,
    createdAt: now,
    expiresAt: now + lifetimeSeconds * 1000,
    completedAt: null,
    outcomeReported: false,
    context,
    deliveryId: null,
    delivery: 'queued',
    extraLayer,
    matchCode,
    device: deviceDigest(ctx, context),
    ...(returnUrl ? { returnUrl } : {}),
  }
  const started = audit(now, {
    challengeId: row.id,
    outcome: 'success',
    details: {
      method: row.method,
      channel,
      destination: maskDestination(destination),
      expiresAt: row.expiresAt,
      ...(decision ? { decision: decisionDetails(decision, system.rules.version) } : {}),
      ...(returnUrl ? { returnUrl } : {}),
    },
  })
  const secret = token ? ctx.linkUrl(token) : (pin as string)
  const message = composeFor(account, system, user, {
    method: row.method,
    channel,
    to: destination,
    challengeId: row.id,
    lifetimeMinutes: Math.max(1, Math.round(lifetimeSeconds / 60)),
    secret,
  })
  // The message goes into the outbox in the issuing transaction, claimed by this process, which sends it next.
  const outbox = newDelivery(ctx, row, { message, secret }, now)
  const limits = sendLimits(
    ctx,
    ctx.effective(account.settings),
    accountId,
    user.id,
    system.id,
    destination,
    options.apiKeyId,
    await knownDevice(historyOf, row.device),
  )
  const issuedRow: ChallengeRow = { ...row, deliveryId: outbox.row.id }
  const issued = await ctx.storage.logins.issueChallenge(
    issuedRow,
    [started, deliveryAudit(outbox.row, row, now, 'queued')],
    limits,
    [outbox.row],
  )
  if (!issued.issued)
    return issued.reason === 'rate_limited'
      ? throttle(issued.retryAfter, issued.key.slice(0, issued.key.indexOf(':')), true)
      : // An administrator removed the assignment since we read it.
        refuse('not_assigned', true)

  emit(ctx, 'challenge.started', { ...challengeEvent(row, now), channel, expiresAt: new Date(row.expiresAt) })
  // In uniform mode the answer must not wait on the provider, or a slow mailbox would tell real users
  // from decoys, whose delivery is always `queued`; the channel is the one planned.
  const sending = dispatch(ctx, outbox.row, issuedRow, outbox.outgoing)
  // After a fallback, the channel that carries the secret now is the fallback's.
  const delivery = uniformResponses ? { channel, state: 'queued' as const } : await sending
  if (uniformResponses) recordRealStart(ctx, began)
  return {
    result: 'success',
    challengeId: row.id,
    expiresAt: new Date(row.expiresAt),
    method: row.method,
    channel: delivery.channel,
    delivery: delivery.state,
    layers: extraLayer ? [row.method, extraLayer] : [row.method],
    ...(matchCode ? { matchCode } : {}),
  }
}

/**
 * What `simulate` answers: the decision a start would apply (its `channel` the one the message would
 * really go on, its `numberMatching` whether a code would really be asked for), a delay after
 * failures, or why no start could be issued at all.
 */
export type SimulateResult =
  | { readonly result: 'decision'; readonly decision: Decision }
  | { readonly result: 'rate limited'; readonly retryAfter: Date }
  | { readonly result: 'security error'; readonly reason: SecurityReason }

/** The decision a start would take, read-only: no challenge, no message, no audit event. */
export async function simulateLogin(
  ctx: EngineContext,
  accountId: string,
  input: StartInput,
): Promise<SimulateResult> {
  const { systemName, authid, context } = loginInput(input)
  const subject = await resolve(ctx, accountId, systemName, authid)
  const refusal = refuseSubject(subject)
  if (refusal) return { result: 'security error', reason: refusal.reason }
  const plan = await planStart(ctx, subject as DecidableSubject, context, ctx.clock.now(), true)
  if (plan.kind === 'delayed') return { result: 'rate limited', retryAfter: new Date(plan.retryAfter) }
  if (plan.kind === 'unavailable')
    return {
      result: 'security error',
      reason: plan.destinationRefused ? 'destination_refused' : 'method_not_enabled',
    }
  if (plan.kind === 'denied') return { result: 'decision', decision: plan.decision }
  const decision = plan.decision as Decision
  return {
    result: 'decision',
    decision: { ...decision, channel: plan.channel, numberMatching: plan.numberMatching },
  }
}

/** The decision as the audit keeps it: what was required and which rules matched why. */
export function decisionDetails(decision: Decision, rulesVersion: number): Record<string, unknown> {
  // Compact, since every start of a system with rules writes it: defaults left out, and each matched
  // rule as one line, `name: why; why`. The rules themselves are in the audit under their version.
  return {
    rulesVersion,
    ...(decision.denied ? { denied: true, reason: decision.reason } : {}),
    layers: decision.layers,
    sensitivity: decision.sensitivity,
    lifetimeSeconds: decision.lifetimeSeconds,
    attempts: decision.attempts,
    ...(decision.numberMatching ? { numberMatching: true } : {}),
    ...(decision.channel ? { channel: decision.channel } : {}),
    matched: decision.matched.map((m) => `${m.rule}: ${m.because.join('; ')}`),
  }
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
  const subject = await resolve(ctx, accountId, systemName, authid)
  const refusal = refuseSubject(subject)
  const { uniformResponses } = subject.account.settings
  const { lockout } = ctx.effective(subject.account.settings)
  // S19: polls are counted per login as storage resolved it, never per spelling of its names (a
  // case- or accent-insensitive collation reaches one user under many spellings).
  const login =
    subject.user && subject.system
      ? `login:${subject.user.id}:${subject.system.id}`
      : challengeId !== undefined
        ? `challenge:${accountId}:${challengeId}`
        : null
  const pollWait = login === null ? 0 : ctx.throttle.admitPoll(login, accountId, actor, ctx.clock.now())
  if (pollWait > 0) return { result: 'rate limited', retryAfter: new Date(ctx.clock.now() + pollWait) }
  // S20: a check naming a decoy a refused start answered with hears what a real pending challenge says.
  if (uniformResponses && challengeId !== undefined && subject.challenge?.id !== challengeId) {
    const decoy = ctx.decoys.check(
      challengeId,
      { accountId, system: systemName, authid },
      pin,
      ctx.clock.now(),
      subject.system?.policies.pin.attempts,
    )
    if (decoy) return decoy
  }
  // A success clears the user's failure streak; when the user had none as we read it, skip that write.
  // (A failure landing between the read and the success then stays counted: the stricter side.)
  const resetFailuresOf =
    subject.user && (subject.user.failureStreak > 0 || subject.user.retryAfter !== null)
      ? subject.user.id
      : undefined
  /** S17: one more consecutive failure for this user; delays grow and the 100th locks. */
  const countFailure = async (row: ChallengeRow, audit: AuditDraft[]) => {
    const at = ctx.clock.now()
    await ctx.storage.users.recordFailure(
      row.userId,
      at,
      (streak) => delayAfter(streak, lockout, at),
      audit,
      (streak) => ({
        ...draft(at, row, 'locked', 'locked'),
        type: 'user.locked',
        actor: 'engine',
        details: { consecutiveFailures: streak },
      }),
    )
  }
  const draft = (
    at: number,
    row: ChallengeRow | null,
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
    row: ChallengeRow | null,
    reason: SecurityReason,
    final = true,
  ): Promise<CheckResult> => {
    const at = ctx.clock.now()
    await auditRefusal(ctx, draft(at, row, 'security error', reason), 'check')
    if (row) emit(ctx, 'challenge.failed', { ...challengeEvent(row, at), reason, final })
    return { result: 'security error', reason }
  }
  if (refusal) {
    if (!uniformResponses) return refuse(null, refusal.reason)
    // S20: whether the user exists, is disabled or locked is not for the caller to learn: a real user
    // with nothing pending answers the same. The audit keeps the true reason.
    const refused = draft(ctx.clock.now(), null, 'security error', refusal.reason)
    await auditRefusal(ctx, { ...refused, details: { answered: 'no_pending_challenge' } }, 'check')
    return { result: 'security error', reason: 'no_pending_challenge' }
  }
  if (challengeId !== undefined && subject.challenge?.id !== challengeId)
    return refuse(null, 'no_pending_challenge')
  let row = subject.challenge
  for (let reread = 0; row && reread < CHECK_REREADS; reread++) {
    const now = ctx.clock.now()
    const live = row.status === 'pending' || row.status === 'confirmed'

    if (live && now >= row.expiresAt) {
      const expired = draft(now, row, 'expired', null)
      if (
        await ctx.storage.logins.transitionChallenge(
          { id: row.id, from: ['pending', 'confirmed'], to: 'expired', at: now, reported: true },
          [expired],
        )
      ) {
        emit(ctx, 'challenge.expired', challengeEvent(row, now))
        return { result: 'expired' }
      }
    } else if (live && subject.system && !subject.system.policies[row.method].enabled) {
      // The administrator turned the method off while this login waited: it ends here, whatever it
      // carries (docs/architecture.md, "Turning a method off").
      const ended = draft(now, row, 'security error', 'method_not_enabled')
      if (
        await ctx.storage.logins.transitionChallenge(
          { id: row.id, from: ['pending', 'confirmed'], to: 'failed', at: now, reported: true },
          [ended],
        )
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
        await ctx.storage.logins.transitionChallenge(
          { id: row.id, from: ['expired'], to: 'expired', at: now, reported: true },
          [draft(now, row, 'expired', null)],
        )
      )
        return { result: 'expired' }
    } else if (row.status === 'failed' && !row.outcomeReported) {
      // Burned away from check (too many wrong match codes on the link's page): the poller hears it once.
      if (
        await ctx.storage.logins.transitionChallenge(
          { id: row.id, from: ['failed'], to: 'failed', at: now, reported: true },
          [draft(now, row, 'security error', 'attempts_exhausted')],
        )
      )
        return { result: 'security error', reason: 'attempts_exhausted' }
    } else if (row.status === 'confirmed' && row.extraLayer === 'memorized_pin') {
      // The delivered layer is done; the PIN the user knows is next.
      if (pin === null) return pendingAnswer(ctx, row, 'memorized_pin')
      const memorized = subject.user?.memorizedPinHash ?? null
      if (memorized === null) return refuse(row, 'policy_denied')
      if (typeof pin === 'number')
        throw new ValidationError('pin', 'send a memorized PIN as a string: a number loses its leading zeros')
      const typed = pin
      const verdict = await verifyPin(ctx, row, typed, draft, countFailure, resetFailuresOf, {
        hash: memorized,
        length: null,
        from: 'confirmed',
      })
      if (verdict) return verdict
    } else if (row.status === 'confirmed') {
      const done = draft(now, row, 'authenticated', null)
      if (
        await ctx.storage.logins.transitionChallenge(
          { id: row.id, from: ['confirmed'], to: 'authenticated', at: now, reported: true },
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
          { id: row.id, from: ['authenticated'], to: 'authenticated', at: now, reported: true },
          [draft(now, row, 'authenticated', null)],
          resetFailuresOf,
        )
      ) {
        emit(ctx, 'challenge.authenticated', challengeEvent(row, now))
        return { result: 'authenticated', challengeId: row.id }
      }
    } else if (row.status === 'pending') {
      if (pin === null) return pendingAnswer(ctx, row, row.method)
      if (row.method !== 'pin') return refuse(row, 'wrong_method', false)
      const typed = typeof pin === 'number' ? String(pin).padStart(row.pinLength ?? 0, '0') : pin
      const verdict = await verifyPin(ctx, row, typed, draft, countFailure, resetFailuresOf, {
        hash: row.pinHash,
        length: row.pinLength,
        from: 'pending',
      })
      if (verdict) return verdict
    } else {
      return refuse(row, 'no_pending_challenge')
    }
    // The challenge moved between our read and our write: read it again and answer for its new state.
    row = await ctx.storage.logins.getChallenge(row.id)
  }
  if (row) throw new StorageError('the challenge kept changing under check; giving up')
  return refuse(null, 'no_pending_challenge')
}

const pendingAnswer = (ctx: EngineContext, row: ChallengeRow, next: Layer): CheckResult => ({
  result: 'pending',
  challengeId: row.id,
  method: row.method,
  channel: row.channel,
  // An outcome this process has not written yet is already known here (outbox/delivery-outcomes.ts).
  delivery: (row.delivery === 'queued' && ctx.outcomes.pending(row.deliveryId)) || row.delivery,
  next,
})

/** The layer a PIN is checked against: the one-time PIN (pending) or the memorized one (confirmed). */
interface PinLayer {
  readonly hash: string | null
  /** The exact length a one-time PIN has; null for a memorized PIN. */
  readonly length: number | null
  readonly from: 'pending' | 'confirmed'
}

/**
 * Takes an attempt, then verifies. Reserving first is what keeps concurrent guesses within the
 * attempt budget: a guess that cannot reserve is never verified. Returns null when the challenge
 * moved and must be read again.
 */
async function verifyPin(
  ctx: EngineContext,
  row: ChallengeRow,
  pin: string,
  draft: (at: number, row: ChallengeRow | null, outcome: string, reason: SecurityReason | null) => AuditDraft,
  countFailure: (row: ChallengeRow, audit: AuditDraft[]) => Promise<void>,
  resetFailuresOf: string | undefined,
  layer: PinLayer,
): Promise<CheckResult | null> {
  const reserved = await ctx.storage.logins.reserveAttempt(row.id, ctx.clock.now(), layer.from)
  if (reserved === null) {
    const current = await ctx.storage.logins.getChallenge(row.id)
    if (
      current?.status === layer.from &&
      current.attempts >= current.maxAttempts &&
      ctx.clock.now() < current.expiresAt
    )
      return refuseFinal(ctx, current, 'attempts_exhausted', draft)
    return null
  }
  const correct =
    layer.hash !== null &&
    (layer.length === null ? /^\d{6,12}$/.test(pin) : pin.length === layer.length) &&
    (await (layer.length === null ? ctx.memorizedPins : ctx.hasher).verify(layer.hash, pin))
  const now = ctx.clock.now()
  if (correct && layer.length === null) await rehashMemorizedPin(ctx, row, layer.hash as string, pin, now)
  const counted = { ...row, attempts: reserved }
  if (correct && layer.from === 'pending' && row.extraLayer !== null) {
    // One layer done, another to go: `confirmed` now means "waiting for the memorized PIN".
    const passed = {
      ...draft(now, counted, 'pending', null),
      details: { layer: 'pin', next: row.extraLayer },
    }
    const moved = await ctx.storage.logins.transitionChallenge(
      { id: row.id, from: ['pending'], to: 'confirmed', at: now, reported: false, resetAttempts: true },
      [passed],
    )
    if (!moved) {
      // A concurrent submission of the same PIN passed the layer first: the answer is the same, and
      // these digits must not go on to be tried against the memorized PIN.
      const current = await ctx.storage.logins.getChallenge(row.id)
      if (current?.status !== 'confirmed') return null
    }
    return pendingAnswer(ctx, { ...row, status: 'confirmed' }, row.extraLayer)
  }
  if (correct) {
    const done = draft(now, counted, 'authenticated', null)
    if (
      !(await ctx.storage.logins.transitionChallenge(
        { id: row.id, from: [layer.from], to: 'authenticated', at: now, reported: true },
        [done],
        resetFailuresOf,
      ))
    )
      return null
    emit(ctx, 'challenge.authenticated', challengeEvent(row, now))
    return { result: 'authenticated', challengeId: row.id }
  }
  if (reserved < row.maxAttempts) {
    await countFailure(row, [draft(now, counted, 'security error', 'wrong_pin')])
    emit(ctx, 'challenge.failed', { ...challengeEvent(row, now), reason: 'wrong_pin', final: false })
    return { result: 'security error', reason: 'wrong_pin' }
  }
  const burned = draft(now, counted, 'security error', 'attempts_exhausted')
  // If a concurrent correct PIN won, this guess was still wrong and the last one: record it all the same.
  const moved = await ctx.storage.logins.transitionChallenge(
    { id: row.id, from: [layer.from], to: 'failed', at: now, reported: true },
    [burned],
  )
  await countFailure(row, moved ? [] : [burned])
  emit(ctx, 'challenge.failed', { ...challengeEvent(row, now), reason: 'attempts_exhausted', final: true })
  return { result: 'security error', reason: 'attempts_exhausted' }
}

async function refuseFinal(
  ctx: EngineContext,
  row: ChallengeRow,
  reason: SecurityReason,
  draft: (at: number, row: ChallengeRow | null, outcome: string, reason: SecurityReason | null) => AuditDraft,
): Promise<CheckResult> {
  await ctx.storage.audit.appendAudit([draft(ctx.clock.now(), row, 'security error', reason)])
  return { result: 'security error', reason }
}
