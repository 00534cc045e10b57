import { randomInt } from 'node:crypto'
import { maskDestination } from '../domain/contact-points.js'
import { contextString } from '../domain/login-input.js'
import type { SecurityReason, StartResult } from '../domain/model.js'
import { chooseReturnUrl } from '../domain/return-urls.js'
import { newLinkToken, newPin, newTimeOrderedId, sha256Hex } from '../domain/secrets.js'
import { composeFor } from '../outbox/messages.js'
import { deliveryAudit, dispatch, newDelivery } from '../outbox/outbox.js'
import type { AccountSettings } from '../policy/account-settings.js'
import type { Decision } from '../policy/rules.js'
import { type EngineContext, emit } from '../ports/engine-context.js'
import type { AuditDraft, ChallengeRow, SendLimit } from '../ports/storage.js'
import { matchesNumbersInUniformMode } from './decoys.js'
import { admitted, auditRefusal, challengeEvent, loginInput, refuseSubject, resolve } from './login-gate.js'
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

/** How the caller reached `start`: the HTTP layer passes the API key's id, for its send limit and the audit. */
export interface StartOptions {
  readonly apiKeyId?: string
}

const HOUR = 3_600_000

/**
 * The one hash a start costs: a one-time PIN's, or in uniform mode (S20) a throwaway one for a link or
 * a refusal. One function for both, so a refused start never costs more than a real one.
 */
const hashOneTimePin = (ctx: EngineContext, pin: string) => ctx.hasher.hash(pin)

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
  const refusal = refuseSubject(subject.system, subject.user, subject.assignment !== null)
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
  const refusal = refuseSubject(subject.system, subject.user, subject.assignment !== null)
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
