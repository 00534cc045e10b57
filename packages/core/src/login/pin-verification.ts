import { transitionTo } from '../domain/challenge-lifecycle.js'
import type { CheckResult, Layer, SecurityReason } from '../domain/model.js'
import { type EngineContext, emit } from '../ports/engine-context.js'
import type { AuditDraft, ChallengeRow } from '../ports/storage.js'
import { challengeEvent } from './login-gate.js'
import { rehashMemorizedPin } from './pin-rehash.js'

/** An audit draft of a `check`, at `at`, about `row`. */
export type CheckDraft = (
  at: number,
  row: ChallengeRow | null,
  outcome: string,
  reason: SecurityReason | null,
) => AuditDraft

/** What `check` answers while the login waits: its channel, its delivery, and the layer next. */
export const pendingAnswer = (ctx: EngineContext, row: ChallengeRow, next: Layer): CheckResult => ({
  result: 'pending',
  challengeId: row.id,
  method: row.method,
  channel: row.channel,
  // An outcome this process has not written yet is already known here (outbox/delivery-outcomes.ts).
  delivery: (row.delivery === 'queued' && ctx.outcomes.pending(row.deliveryId)) || row.delivery,
  next,
})

/** The layer a PIN is checked against: the one-time PIN (pending) or the memorized one (confirmed). */
export interface PinLayer {
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
export async function verifyPin(
  ctx: EngineContext,
  row: ChallengeRow,
  pin: string,
  draft: CheckDraft,
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
    const moved = await ctx.storage.logins.transitionChallenge(transitionTo('passOneTimePin', row.id, now), [
      passed,
    ])
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
        transitionTo(layer.from === 'pending' ? 'acceptOneTimePin' : 'acceptMemorizedPin', row.id, now),
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
    transitionTo(layer.from === 'pending' ? 'burnOneTimePin' : 'burnMemorizedPin', row.id, now),
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
  draft: CheckDraft,
): Promise<CheckResult> {
  await ctx.storage.audit.appendAudit([draft(ctx.clock.now(), row, 'security error', reason)])
  return { result: 'security error', reason }
}
