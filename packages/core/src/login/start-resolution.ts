import { refusedPhoneKind } from '../domain/contact-points.js'
import type { Channel, RequestContext } from '../domain/model.js'
import { type Decision, decide, needsHistory, type PolicyInput } from '../policy/rules.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { LoginSubject, UserRow } from '../ports/storage.js'

// What a `start` will do for a subject, decided once for both `start` and `simulate` so that simulate
// shows what start does: the delay after failures, the method's switch, the rules, and the channel the
// user can really be reached on. Simulate used to report a rule's channel that start could not use.

/** The user's history for the start's device, read at most once whether the rules or the send budgets ask. */
export type HistoryOf = (
  device: string | null,
) => Promise<{ lastSuccessAt: number | null; knownDevice: boolean }>

/** A login subject whose system, user and assignment all exist. */
export type DecidableSubject = Required<{ [K in keyof LoginSubject]: NonNullable<LoginSubject[K]> }>

/** How a start on this subject goes, before anything is written. */
export type StartPlan =
  /** A delay after failures (S17) holds until `retryAfter`. */
  | { readonly kind: 'delayed'; readonly retryAfter: number }
  /**
   * The method is off, or no channel the policy allows reaches the user; `destinationRefused` when the
   * only number is one no message may go to (premium rate, satellite, …, S18).
   */
  | { readonly kind: 'unavailable'; readonly decision: Decision | null; readonly destinationRefused?: true }
  /** A rule denied it. */
  | { readonly kind: 'denied'; readonly decision: Decision }
  | {
      readonly kind: 'issue'
      /** The rules' decision; null when the system has none and `explain` was not asked for. */
      readonly decision: Decision | null
      readonly channel: Channel
      readonly destination: string
      readonly extraLayer: 'memorized_pin' | null
      /** Whether the link's page must ask for a code (never on a PIN login). */
      readonly numberMatching: boolean
      readonly lifetimeSeconds: number
      /** Attempts for one-time PIN guesses, memorized-PIN guesses and wrong match codes alike. */
      readonly attempts: number
    }

/**
 * Plans a start on `subject` at `now`. With `explain`, the rules are evaluated even when the system
 * has none, so there is always a decision to show (simulate); start skips them, and their cost.
 */
export async function planStart(
  ctx: EngineContext,
  subject: DecidableSubject,
  context: RequestContext | null,
  now: number,
  explain = false,
  historyOf?: HistoryOf,
): Promise<StartPlan> {
  const { system, user, assignment } = subject
  if (user.retryAfter !== null && now < user.retryAfter)
    return { kind: 'delayed', retryAfter: user.retryAfter }
  const policy = system.policies[assignment.method]
  if (!policy.enabled) return { kind: 'unavailable', decision: null }
  const decision =
    system.rules.rules.length === 0 && !explain
      ? null
      : await decideFor(ctx, subject, context, now, historyOf)
  if (decision?.denied) return { kind: 'denied', decision }
  const ruled = decision?.channel ?? null
  const channel =
    ruled && policy.channels.includes(ruled) && pickChannel(ruled, [ruled], user)
      ? ruled
      : pickChannel(assignment.channel, policy.channels, user)
  if (!channel)
    return user.phone !== null && refusedPhoneKind(user.phone) !== null
      ? { kind: 'unavailable', decision, destinationRefused: true }
      : { kind: 'unavailable', decision }
  return {
    kind: 'issue',
    decision,
    channel,
    destination: (channel === 'email' ? user.email : user.phone) as string,
    extraLayer: decision?.layers.includes('memorized_pin') ? 'memorized_pin' : null,
    numberMatching: decision?.numberMatching ?? false,
    lifetimeSeconds: decision?.lifetimeSeconds ?? policy.lifetimeSeconds,
    attempts: decision?.attempts ?? system.policies.pin.attempts,
  }
}

/**
 * The channel of a new challenge: the assignment's, else the policy's first the user can receive. A
 * phone number of a refused kind (premium rate, satellite, …, S18) stored before the refusal counts as none.
 */
function pickChannel(fixed: Channel | null, allowed: readonly Channel[], user: UserRow): Channel | null {
  const reachable = (channel: Channel) =>
    channel === 'email' ? user.email !== null : user.phone !== null && refusedPhoneKind(user.phone) === null
  if (fixed) return allowed.includes(fixed) && reachable(fixed) ? fixed : null
  return allowed.find(reachable) ?? null
}

/**
 * The policy decision for a start on this subject: reads the user's history only when a rule needs
 * it.
 */
async function decideFor(
  ctx: EngineContext,
  subject: DecidableSubject,
  context: RequestContext | null,
  now: number,
  historyOf?: HistoryOf,
): Promise<Decision> {
  const { system, user, assignment } = subject
  const rules = system.rules.rules
  const policy = system.policies[assignment.method]
  const input: PolicyInput = {
    system: { name: system.name, sensitivity: system.sensitivity },
    user: {
      authid: user.authid,
      attributes: user.attributes,
      failureStreak: user.failureStreak,
      lastSuccessAt: null,
      hasMemorizedPin: user.memorizedPinHash !== null,
    },
    context: context ?? {},
    knownDevice: null,
    now,
  }
  // The history costs a query: read it only when a rule that needs it could match otherwise.
  const device = needsHistory(rules, input) ? deviceDigest(ctx, context) : undefined
  const history =
    device === undefined
      ? null
      : await (historyOf ? historyOf(device) : ctx.storage.logins.userHistory(user.id, device))
  return decide(
    rules,
    {
      method: assignment.method,
      lifetimeSeconds: policy.lifetimeSeconds,
      attempts: system.policies.pin.attempts,
    },
    history
      ? {
          ...input,
          user: { ...input.user, lastSuccessAt: history.lastSuccessAt },
          knownDevice: device === null ? null : history.knownDevice,
        }
      : input,
    ctx.predicates,
  )
}

/** `context.deviceId` keyed by the engine secret, so the table never holds the host's device ids. */
export function deviceDigest(ctx: EngineContext, context: RequestContext | null): string | null {
  const deviceId = context?.deviceId
  return typeof deviceId === 'string' ? ctx.keyedDigest(`device:${deviceId}`).slice(0, 32) : null
}
