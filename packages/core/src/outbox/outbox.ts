import { createCipheriv, createDecipheriv, hkdfSync, randomInt } from 'node:crypto'
import { maskDestination, refusedPhoneKind } from '../domain/contact-points.js'
import { LATE, settledWithin } from '../domain/deadline.js'
import { ValidationError } from '../domain/errors.js'
import type { Channel } from '../domain/model.js'
import { newTimeOrderedId, randomBytesPooled } from '../domain/secrets.js'
import {
  type EngineContext,
  emit,
  type OutboxPayload,
  type OutboxSettings,
  type PayloadCipher,
} from '../ports/engine-context.js'
import type { Message } from '../ports/notifier.js'
import type {
  AuditDraft,
  ChallengeRow,
  DeliveryOutcome,
  DeliveryRow,
  DeliveryState,
} from '../ports/storage.js'
import { composeFor } from './messages.js'
import { redactProviderError } from './provider-error-redaction.js'

// The durable outbox (docs/architecture.md, "The outbox"). `start` stores each message as a delivery row in the
// transaction that issues the challenge, already claimed by the process that issued it, which sends it
// right away. A temporary failure schedules a retry (exponential backoff with jitter, within the
// challenge's lifetime) that `runDue` picks up; a permanent one, or retries running out, abandons it and
// falls back to the user's other channel when the policy lists it. A process that dies mid-send leaves
// a claim that lapses after `leaseMs`, and whoever runs `runDue` next sends the message: at least once.

export type { OutboxPayload, OutboxSettings, PayloadCipher } from '../ports/engine-context.js'

export const DEFAULT_OUTBOX: OutboxSettings = {
  leaseMs: 60_000,
  sendTimeoutMs: 30_000,
  maxAttempts: 6,
  baseDelayMs: 2_000,
  maxDelayMs: 120_000,
  retryWindowPercent: 80,
  closeWaitMs: 5_000,
}

const BATCH = 50

/** A message about to be sent, with the secret it carries (for redaction and fallback). */
export interface Outgoing {
  readonly message: Message
  readonly secret: string
}

/** Seals under the first secret; opens with whichever of `secrets` sealed (a keyring after a rotation, S33). */
export function payloadCipher(secrets: string | readonly string[]): PayloadCipher {
  const keys = (typeof secrets === 'string' ? [secrets] : secrets).map((secret) =>
    Buffer.from(hkdfSync('sha256', secret, 'flexsecure', 'outbox-payload-v1', 32)),
  )
  const openWith = (key: Buffer, deliveryId: string, bytes: Buffer) => {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12))
    decipher.setAAD(Buffer.from(deliveryId))
    decipher.setAuthTag(bytes.subarray(12, 28))
    const text = Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8')
    return JSON.parse(text) as OutboxPayload
  }
  return {
    seal(deliveryId, payload) {
      const iv = randomBytesPooled(12)
      const cipher = createCipheriv('aes-256-gcm', keys[0] as Buffer, iv)
      cipher.setAAD(Buffer.from(deliveryId))
      const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()])
      return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`
    },
    open(deliveryId, sealed) {
      if (!sealed.startsWith('v1.')) throw new Error('unknown payload format')
      const bytes = Buffer.from(sealed.slice(3), 'base64url')
      let failure: unknown
      for (const key of keys) {
        try {
          return openWith(key, deliveryId, bytes)
        } catch (error) {
          failure = error // the GCM tag did not match this key: try the next
        }
      }
      throw failure
    },
  }
}

/**
 * The delay before retry number `failures` (1 = after the first failure) of a delivery that may be
 * tried for `lifetimeMs`: doubling from a first step sized so the attempts spread over
 * `retryWindowPercent` of that lifetime (never below `baseDelayMs`), capped, jittered within its upper
 * half. A 5-minute PIN's retries then reach about 2 to 4 minutes, not one, so an SMTP server that is
 * down for a minute loses nothing.
 */
export function retryDelay(failures: number, settings: OutboxSettings, lifetimeMs = 0): number {
  const window = (lifetimeMs * settings.retryWindowPercent) / 100
  const steps = 2 ** Math.min(Math.max(settings.maxAttempts - 1, 1), 30) - 1
  const first = Math.max(settings.baseDelayMs, Math.floor(window / steps))
  const full = Math.min(settings.maxDelayMs, first * 2 ** Math.min(failures - 1, 30))
  const half = Math.floor(full / 2)
  return half + randomInt(half + 1)
}

/**
 * A new delivery of `payload`, already claimed by the caller (its first attempt). The message's
 * idempotency key becomes the delivery's id: stable across retries, new for a fallback.
 */
export function newDelivery(
  ctx: EngineContext,
  challenge: Pick<ChallengeRow, 'id' | 'accountId' | 'expiresAt'>,
  draft: Outgoing,
  at: number,
  fallbackOf: string | null = null,
): { row: DeliveryRow; outgoing: Outgoing } {
  const id = newTimeOrderedId(at)
  const message = { ...draft.message, idempotencyKey: id }
  const row: DeliveryRow = {
    id,
    accountId: challenge.accountId,
    challengeId: challenge.id,
    channel: message.channel,
    destination: maskDestination(message.to),
    status: 'queued',
    attempts: 1,
    nextAttemptAt: at,
    claimedUntil: at + ctx.outbox.leaseMs,
    providerId: null,
    lastError: null,
    payload: ctx.payloads.seal(id, { to: message.to, secret: draft.secret }),
    createdAt: at,
    updatedAt: at,
    expiresAt: challenge.expiresAt,
    fallbackOf,
  }
  return { row, outgoing: { message, secret: draft.secret } }
}

/** The audit record of one delivery state change. */
export function deliveryAudit(
  delivery: DeliveryRow,
  challenge: { readonly systemName: string | null; readonly authid: string | null },
  at: number,
  outcome: 'queued' | 'sent' | 'failed' | 'abandoned' | 'fallback' | 'cancelled',
  details: Record<string, unknown> = {},
): AuditDraft {
  return {
    accountId: delivery.accountId,
    at,
    type: 'delivery',
    actor: 'engine',
    system: challenge.systemName,
    authid: challenge.authid,
    challengeId: delivery.challengeId,
    outcome,
    reason: null,
    ip: null,
    userAgent: null,
    details: {
      deliveryId: delivery.id,
      channel: delivery.channel,
      destination: delivery.destination,
      attempt: delivery.attempts,
      ...details,
    },
  }
}

type Challenge = ChallengeRow

/**
 * A claimed delivery's message, composed again from its sealed address and secret; or why it must not
 * go: the system or user is gone, or the method was turned off (what an administrator does in an
 * incident expects the messages to stop too).
 */
async function recompose(
  ctx: EngineContext,
  delivery: DeliveryRow,
  challenge: Challenge,
): Promise<Outgoing | string> {
  const sealed = ctx.payloads.open(delivery.id, delivery.payload ?? '')
  const subject = await ctx.storage.logins.resolveLogin(
    challenge.accountId,
    challenge.systemName,
    challenge.authid,
  )
  if (!subject?.system || !subject.user) return 'the message could not be composed again'
  if (!subject.system.policies[challenge.method].enabled) return 'the method was turned off for the system'
  const message = composeFor(subject.account, subject.system, subject.user, {
    method: challenge.method,
    channel: delivery.channel,
    to: sealed.to,
    challengeId: challenge.id,
    lifetimeMinutes: Math.max(1, Math.round((challenge.expiresAt - challenge.createdAt) / 60_000)),
    secret: sealed.secret,
  })
  return { message: { ...message, idempotencyKey: delivery.id }, secret: sealed.secret }
}

/** What a waiting host should hear of a message: where it stands, and on which channel it now goes. */
export interface DeliveryAnswer {
  readonly state: DeliveryState
  /** The channel carrying the secret now: a fallback's once one replaced the first delivery. */
  readonly channel: Channel
}

/**
 * Makes one attempt at a delivery this process has claimed and records its outcome. Returns what a
 * waiting host should hear. Never throws for a provider's failure; storage failures are logged. The
 * attempt is tracked, so that closing the engine waits for it and writes its outcome.
 */
export function dispatch(
  ctx: EngineContext,
  delivery: DeliveryRow,
  challenge: Challenge,
  known?: Outgoing,
): Promise<DeliveryAnswer> {
  const attempt = attemptDelivery(ctx, delivery, challenge, known)
  ctx.outcomes.track(attempt)
  return attempt
}

async function attemptDelivery(
  ctx: EngineContext,
  delivery: DeliveryRow,
  challenge: Challenge,
  known?: Outgoing,
): Promise<DeliveryAnswer> {
  let payload: Outgoing | string
  try {
    payload = known ?? (await recompose(ctx, delivery, challenge))
  } catch (error) {
    // Not the delivery's fault, and perhaps not for long: a payload sealed under a secret this instance
    // does not hold yet (another instance rotated the secret, S33), or the storage failing for a moment.
    // Another attempt, here or on another instance, may succeed; the attempts still end at maxAttempts
    // or at the challenge's expiry.
    ctx.logger.error('a delivery could not be prepared; it is tried again', {
      deliveryId: delivery.id,
      error: String(error),
    })
    return failedAttempt(ctx, delivery, challenge, 'temporary', 'the message could not be prepared')
  }
  if (typeof payload === 'string') {
    await finish(ctx, delivery, challenge, 'abandoned', null, payload, 'permanent')
    return { state: 'failed', channel: delivery.channel }
  }
  const { message } = payload
  try {
    const answer = await settledWithin(ctx.notifier.send(message), ctx.outbox.sendTimeoutMs)
    // No answer in time: a failure of no kind (counted `unknown`, so retried; the provider may or may not
    // have taken the message).
    if (answer === LATE) throw new Error(`the notifier did not answer within ${ctx.outbox.sendTimeoutMs} ms`)
    const { providerId } = answer
    return await finish(ctx, delivery, challenge, 'sent', providerId, null, null)
  } catch (error) {
    // A notifier should throw a DeliveryError; one that rejects with anything, null included, fails alike.
    const kind = (error as { kind?: unknown } | null | undefined)?.kind
    const safeKind = kind === 'temporary' || kind === 'permanent' ? kind : 'unknown'
    // S26: a provider may echo the message it refused, in any encoding.
    const text = redactProviderError(error instanceof Error ? error.message : String(error), [
      payload.secret,
      message.to,
    ])
    ctx.logger.warn('delivery failed', {
      challengeId: delivery.challengeId,
      deliveryId: delivery.id,
      channel: delivery.channel,
      destination: delivery.destination,
      attempt: delivery.attempts,
      kind: safeKind,
      error: text,
    })
    return failedAttempt(ctx, delivery, challenge, safeKind, text, payload)
  }
}

/**
 * A failed attempt: retried after `retryDelay` unless it was permanent, the last, or the next would fall
 * past the challenge's expiry; then abandoned, with a fallback when `payload` is there to send again.
 */
function failedAttempt(
  ctx: EngineContext,
  delivery: DeliveryRow,
  challenge: Challenge,
  kind: 'temporary' | 'permanent' | 'unknown',
  text: string,
  payload?: Outgoing,
): Promise<DeliveryAnswer> {
  const at = ctx.clock.now()
  const next = at + retryDelay(delivery.attempts, ctx.outbox, delivery.expiresAt - delivery.createdAt)
  const retry =
    kind !== 'permanent' && delivery.attempts < ctx.outbox.maxAttempts && next < delivery.expiresAt
  if (retry) return finish(ctx, delivery, challenge, 'failed', null, text, kind, next)
  return finish(ctx, delivery, challenge, 'abandoned', null, text, kind, undefined, payload)
}

async function finish(
  ctx: EngineContext,
  delivery: DeliveryRow,
  challenge: Challenge,
  to: 'sent' | 'failed' | 'abandoned',
  providerId: string | null,
  error: string | null,
  kind: string | null,
  nextAttemptAt?: number,
  payload?: Outgoing,
): Promise<DeliveryAnswer> {
  const at = ctx.clock.now()
  const fallback =
    to === 'abandoned' && payload ? await fallbackFor(ctx, delivery, challenge, payload, at) : null
  // What the host hears when nothing else was written: this delivery's own outcome.
  const own: DeliveryAnswer = { state: to === 'sent' ? 'sent' : 'failed', channel: delivery.channel }
  const state: DeliveryAnswer = fallback ? { state: 'queued', channel: fallback.row.channel } : own
  const audit = [
    deliveryAudit(delivery, challenge, at, to, {
      ...(providerId !== null ? { providerId } : {}),
      ...(error !== null ? { error, kind } : {}),
      ...(nextAttemptAt !== undefined ? { nextAttemptAt } : {}),
    }),
    ...(fallback
      ? [
          deliveryAudit(fallback.row, challenge, at, 'fallback', {
            from: delivery.id,
            fromChannel: delivery.channel,
          }),
        ]
      : []),
  ]
  const outcome: DeliveryOutcome = {
    id: delivery.id,
    challengeId: delivery.challengeId,
    attempt: delivery.attempts,
    to,
    at,
    ...(nextAttemptAt !== undefined ? { nextAttemptAt } : {}),
    providerId,
    lastError: error,
  }
  const delivered = () =>
    emit(ctx, 'challenge.delivery', {
      accountId: challenge.accountId,
      challengeId: challenge.id,
      system: challenge.systemName,
      authid: challenge.authid,
      method: challenge.method,
      at: new Date(at),
      channel: delivery.channel,
      status: to,
    })
  if (!fallback && to !== 'abandoned') {
    // Off the login path, so a login does not wait on a second write: written behind the send, with the other outcomes of the moment.
    ctx.outcomes.record({ outcome, audit, recorded: delivered })
    return state
  }
  try {
    const recorded = await ctx.storage.outbox.finishDelivery(outcome, audit, fallback?.row)
    if (!recorded) {
      // Our claim lapsed (another dispatcher took the row) or the challenge was cancelled meanwhile.
      ctx.logger.warn('a delivery outcome arrived after its claim ended', {
        deliveryId: delivery.id,
        status: to,
      })
      return own
    }
  } catch (failure) {
    ctx.logger.error('a delivery outcome could not be recorded', {
      deliveryId: delivery.id,
      error: String(failure),
    })
    // Nor was its fallback: the delivery stays claimed and is tried again once the claim lapses.
    return own
  }
  delivered()
  // The fallback is tried at once; what the host hears is how that went.
  if (fallback) return dispatch(ctx, fallback.row, challenge, fallback.outgoing)
  return state
}

/** The same secret on the user's other channel, when the policy lists it and the user has one. */
async function fallbackFor(
  ctx: EngineContext,
  delivery: DeliveryRow,
  challenge: Challenge,
  payload: Outgoing,
  at: number,
): Promise<{ row: DeliveryRow; outgoing: Outgoing } | null> {
  if (delivery.fallbackOf !== null || at >= delivery.expiresAt) return null
  const subject = await ctx.storage.logins.resolveLogin(
    challenge.accountId,
    challenge.systemName,
    challenge.authid,
  )
  const current = subject?.challenge
  if (!subject?.system || !subject.user || current?.id !== challenge.id || current.status !== 'pending')
    return null
  const other: Channel = delivery.channel === 'email' ? 'sms' : 'email'
  const to = other === 'email' ? subject.user.email : subject.user.phone
  const policy = subject.system.policies[current.method]
  if (!to || !policy.enabled || !policy.channels.includes(other)) return null
  // A number stored before S18's refusal still gets nothing.
  if (other === 'sms' && refusedPhoneKind(to)) return null
  const message = composeFor(subject.account, subject.system, subject.user, {
    method: current.method,
    channel: other,
    to,
    challengeId: current.id,
    lifetimeMinutes: Math.max(1, Math.round((current.expiresAt - at) / 60_000)),
    secret: payload.secret,
  })
  return newDelivery(ctx, current, { message, secret: payload.secret }, at, delivery.id)
}

/** Claims and sends every delivery that is due; returns how many attempts were made. */
export async function deliverDue(ctx: EngineContext): Promise<number> {
  let attempted = 0
  for (;;) {
    const claimed = await ctx.storage.outbox.claimDeliveries(ctx.clock.now(), ctx.outbox.leaseMs, BATCH)
    const challenges = new Map<string, ChallengeRow | null>()
    await Promise.all(
      claimed.map(async (delivery) => {
        if (!challenges.has(delivery.challengeId))
          challenges.set(delivery.challengeId, await ctx.storage.logins.getChallenge(delivery.challengeId))
        const challenge = challenges.get(delivery.challengeId)
        // Claimed while its challenge was pending, and superseded or ended since: nothing to send. The row
        // keeps its claim until the sweep cancels it (`cancelDue`), as it does every delivery of an ended one.
        if (challenge?.status !== 'pending') return
        attempted += 1
        await dispatch(ctx, delivery, challenge)
      }),
    )
    if (claimed.length < BATCH) return attempted
  }
}

/** Cancels the unfinished deliveries of challenges that ended or expired; returns how many. */
export async function cancelDue(ctx: EngineContext): Promise<number> {
  let cancelled = 0
  for (;;) {
    const at = ctx.clock.now()
    const rows = await ctx.storage.outbox.cancelDeliveries(at, 500, (row, challenge) =>
      deliveryAudit(row, challenge ?? { systemName: null, authid: null }, at, 'cancelled'),
    )
    cancelled += rows.length
    if (rows.length < 500) return cancelled
  }
}

/** The outbox's settings: `input` over `DEFAULT_OUTBOX`, each a whole number (attempts at least 1). */
export function resolveOutbox(input: Partial<OutboxSettings> | undefined): OutboxSettings {
  const leaseMs = input?.leaseMs ?? DEFAULT_OUTBOX.leaseMs
  const outbox = { ...DEFAULT_OUTBOX, sendTimeoutMs: Math.floor(leaseMs / 2), ...input }
  for (const [key, value] of Object.entries(outbox))
    if (!Number.isInteger(value) || value < (key === 'maxAttempts' ? 1 : 0))
      throw new ValidationError(`outbox.${key}`, 'must be a whole number')
  if (outbox.sendTimeoutMs < 1 || outbox.sendTimeoutMs >= outbox.leaseMs)
    throw new ValidationError(
      'outbox.sendTimeoutMs',
      'must be at least 1 and less than outbox.leaseMs, or a claim could lapse while its send still runs',
    )
  if (outbox.retryWindowPercent > 100)
    throw new ValidationError('outbox.retryWindowPercent', 'must be a whole number from 0 to 100')
  return outbox
}
