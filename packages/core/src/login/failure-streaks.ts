import type { LockoutPolicy } from '../domain/settings.js'
import { delayAfter } from '../policy/account-settings.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { AuditDraft } from '../ports/storage.js'

/**
 * S17: one more consecutive failure of this user (a wrong PIN or a wrong match code), written with
 * `audit` in one transaction. The delay grows with the streak; the failure that locks the user is
 * audited as `user.locked`, from `locked` (the failure's own draft, retyped).
 */
export async function countFailure(
  ctx: EngineContext,
  userId: string,
  at: number,
  lockout: LockoutPolicy,
  audit: readonly AuditDraft[],
  locked: AuditDraft,
): Promise<void> {
  await ctx.storage.users.recordFailure(
    userId,
    at,
    (streak) => delayAfter(streak, lockout, at),
    audit,
    (streak) => ({
      ...locked,
      type: 'user.locked',
      actor: 'engine',
      details: { consecutiveFailures: streak },
    }),
  )
}
