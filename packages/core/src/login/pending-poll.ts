import type { CheckResult } from '../domain/model.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { LoginSubject, PollView } from '../ports/storage.js'
import { pendingAnswer } from './pin-verification.js'

// The poll a host sends every couple of seconds while its user has not yet confirmed: answered from the
// storage's narrow read (`LoginStore.pollLogin`) when it has one. Through the server on SQLite a read
// costs about 0.4 µs of CPU a column, and the whole subject has 58 of them against the view's 12
// (bench/README.md, "HTTP polls").

/** `resolveLogin`'s subject narrowed to a poll's view: what `pollLogin` must answer. */
export function pollViewOf(subject: LoginSubject | null): PollView | null {
  if (!subject) return null
  const { system, user, challenge } = subject
  return {
    system: system && { id: system.id, policies: system.policies },
    user: user && { id: user.id, status: user.status },
    assigned: subject.assignment !== null,
    challenge: challenge && {
      id: challenge.id,
      status: challenge.status,
      method: challenge.method,
      channel: challenge.channel,
      expiresAt: challenge.expiresAt,
      deliveryId: challenge.deliveryId,
      delivery: challenge.delivery,
    },
  }
}

/**
 * The answer to a poll (no PIN) whose login is plainly pending: a known, active, assigned user whose
 * current challenge is pending, unexpired, of a method still enabled, and the one the poller names if it
 * names one. That is what `check` answers from the whole subject for such a login, S19's poll budget taken
 * the same way, once. Null for anything else (or without `pollLogin`), and nothing was taken: `check`
 * answers it from the whole subject.
 */
export async function answerPendingPoll(
  ctx: EngineContext,
  accountId: string,
  systemName: string,
  authid: string,
  challengeId: string | undefined,
  actor: string,
): Promise<CheckResult | null> {
  const view = await ctx.storage.logins.pollLogin?.(accountId, systemName, authid)
  const { system, user, challenge } = view ?? {}
  if (!view?.assigned || !system || !user || user.status !== 'active' || challenge?.status !== 'pending')
    return null
  if (challengeId !== undefined && challengeId !== challenge.id) return null
  const now = ctx.clock.now()
  if (now >= challenge.expiresAt || !system.policies[challenge.method].enabled) return null
  const wait = ctx.throttle.admitPoll(`login:${user.id}:${system.id}`, accountId, actor, now)
  if (wait > 0) return { result: 'rate limited', retryAfter: new Date(now + wait) }
  return pendingAnswer(ctx, challenge, challenge.method)
}
