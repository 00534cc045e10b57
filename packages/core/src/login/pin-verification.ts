import { transitionTo } from '../domain/challenge-lifecycle.js'
import type { CheckResult, Layer, SecurityReason } from '../domain/model.js'
import { type EngineContext, emit } from '../ports/engine-context.js'
import { isKeyedPinHash } from '../ports/pin-hashing.js'
import type { AuditDraft, ChallengeRow, FailureToCount, PinVerdict } from '../ports/storage.js'
import { countFailure } from './failure-streaks.js'
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
export const pendingAnswer = (
  ctx: EngineContext,
  row: Pick<ChallengeRow, 'id' | 'method' | 'channel' | 'delivery' | 'deliveryId'>,
  next: Layer,
): CheckResult => ({
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
 * attempt budget: a guess that cannot reserve is never verified, nor answered. (A one-time PIN kept as
 * a keyed HMAC is verified first and settled in one write, `verifyBeforeAttempt`: its answer still
 * depends on the PIN only when the attempt was taken.) Returns null when the challenge moved and must be
 * read again.
 */
export async function verifyPin(
  ctx: EngineContext,
  row: ChallengeRow,
  pin: string,
  draft: CheckDraft,
  failureOf: (row: ChallengeRow, at: number) => FailureToCount,
  resetFailuresOf: string | undefined,
  layer: PinLayer,
): Promise<CheckResult | null> {
  const settled = await verifyBeforeAttempt(ctx, row, pin, draft, failureOf, resetFailuresOf, layer)
  if (settled !== undefined) return settled
  const reserved = await ctx.storage.logins.reserveAttempt(row.id, ctx.clock.now(), layer.from)
  if (reserved === null) return noAttemptLeft(ctx, row, draft, layer)
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
    return pendingAnswer(ctx, row, row.extraLayer)
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
    await countFailure(ctx, failureOf(row, now), [draft(now, counted, 'security error', 'wrong_pin')])
    return wrongPin(ctx, row, reserved, now)
  }
  const burned = draft(now, counted, 'security error', 'attempts_exhausted')
  // If a concurrent correct PIN won, this guess was still wrong and the last one: record it all the same.
  const moved = await ctx.storage.logins.transitionChallenge(
    transitionTo(layer.from === 'pending' ? 'burnOneTimePin' : 'burnMemorizedPin', row.id, now),
    [burned],
  )
  await countFailure(ctx, failureOf(row, now), moved ? [] : [burned])
  return wrongPin(ctx, row, reserved, now)
}

/** A wrong PIN's reason once `attempts` are used: the last one exhausts the challenge. */
const wrongPinReason = (row: ChallengeRow, attempts: number) =>
  attempts < row.maxAttempts ? ('wrong_pin' as const) : ('attempts_exhausted' as const)

/** The answer to a wrong PIN whose failure is counted: `wrong_pin`, or `attempts_exhausted` for the last attempt. */
function wrongPin(ctx: EngineContext, row: ChallengeRow, attempts: number, at: number): CheckResult {
  const reason = wrongPinReason(row, attempts)
  emit(ctx, 'challenge.failed', {
    ...challengeEvent(row, at),
    reason,
    final: reason === 'attempts_exhausted',
  })
  return { result: 'security error', reason }
}

/**
 * A one-time PIN kept as a keyed HMAC, with no layer after it, on a store that settles an attempt in one
 * write (`settlePinAttempt`): verified first (microseconds), then one transaction takes the attempt and,
 * when the PIN was right, authenticates, or when it was wrong, counts the user's failure (burning the
 * challenge on its last attempt). What the verification found reaches the caller only if the attempt was
 * taken, and the attempt is the same statement right or wrong, so a guess past the budget tells nothing,
 * as when the attempt is reserved first (an argon2 PIN still is: no slow hash runs past the budget).
 * Undefined when this path does not apply; else the answer, or null when the challenge moved.
 */
async function verifyBeforeAttempt(
  ctx: EngineContext,
  row: ChallengeRow,
  pin: string,
  draft: CheckDraft,
  failureOf: (row: ChallengeRow, at: number) => FailureToCount,
  resetFailuresOf: string | undefined,
  layer: PinLayer,
): Promise<CheckResult | null | undefined> {
  const settle = ctx.storage.logins.settlePinAttempt
  if (
    !settle ||
    layer.from !== 'pending' ||
    layer.length === null ||
    layer.hash === null ||
    row.extraLayer !== null ||
    !isKeyedPinHash(layer.hash)
  )
    return undefined
  const correct = pin.length === layer.length && (await ctx.hasher.verify(layer.hash, pin))
  const now = ctx.clock.now()
  const verdict: PinVerdict = correct
    ? {
        right: true,
        move: transitionTo('acceptOneTimePin', row.id, now),
        audit: [draft(now, row, 'authenticated', null)],
        ...(resetFailuresOf === undefined ? {} : { resetFailuresOf }),
      }
    : {
        right: false,
        burn: transitionTo('burnOneTimePin', row.id, now),
        audit: (attempts) => [
          draft(now, { ...row, attempts }, 'security error', wrongPinReason(row, attempts)),
        ],
        failure: failureOf(row, now),
      }
  const reserved = await settle.call(ctx.storage.logins, row.id, now, 'pending', verdict)
  if (reserved === null) return noAttemptLeft(ctx, row, draft, layer)
  if (!correct) return wrongPin(ctx, row, reserved, now)
  emit(ctx, 'challenge.authenticated', challengeEvent(row, now))
  return { result: 'authenticated', challengeId: row.id }
}

/** No attempt could be taken: exhausted (answered so), or the challenge moved (null: read it again). */
async function noAttemptLeft(
  ctx: EngineContext,
  row: ChallengeRow,
  draft: CheckDraft,
  layer: PinLayer,
): Promise<CheckResult | null> {
  const current = await ctx.storage.logins.getChallenge(row.id)
  if (
    current?.status === layer.from &&
    current.attempts >= current.maxAttempts &&
    ctx.clock.now() < current.expiresAt
  )
    return refuseFinal(ctx, current, 'attempts_exhausted', draft)
  return null
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
