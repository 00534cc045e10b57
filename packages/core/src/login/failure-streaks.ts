import type { LockoutPolicy } from '../domain/settings.js'
import { delayAfter } from '../policy/account-settings.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { AuditDraft, FailureToCount } from '../ports/storage.js'

/**
 * S17: one more consecutive failure of this user (a wrong PIN or a wrong match code) at `at`. The delay
 * grows with the streak; the failure that locks the user is audited as `user.locked`, from `locked` (the
 * failure's own draft, retyped). Storage counts it: `countFailure` below, or with a wrong PIN's attempt
 * (`LoginStore.settlePinAttempt`).
 */
export function failureOf(
  userId: string,
  at: number,
  lockout: LockoutPolicy,
  locked: AuditDraft,
): FailureToCount {
  return {
    userId,
    at,
    decide: (streak) => delayAfter(streak, lockout, at),
    lockAudit: (streak) => ({
      ...locked,
      type: 'user.locked',
      actor: 'engine',
      details: { consecutiveFailures: streak },
    }),
  }
}

/** Counts `failure`, written with `audit` in one transaction. */
export async function countFailure(
  ctx: EngineContext,
  failure: FailureToCount,
  audit: readonly AuditDraft[],
): Promise<void> {
  await ctx.storage.users.recordFailure(failure.userId, failure.at, failure.decide, audit, failure.lockAudit)
}
