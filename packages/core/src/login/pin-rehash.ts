import type { EngineContext } from '../ports/engine-context.js'
import type { ChallengeRow } from '../ports/storage.js'

/** A memorized PIN hashed before the pepper (S8), verified just now: stored again, peppered. */
export async function rehashMemorizedPin(
  ctx: EngineContext,
  row: ChallengeRow,
  hash: string,
  pin: string,
  now: number,
): Promise<void> {
  if (!ctx.memorizedPins.needsRehash(hash)) return
  await ctx.storage.users.setMemorizedPin(row.userId, await ctx.memorizedPins.hash(pin), now, [
    {
      accountId: row.accountId,
      at: now,
      type: 'user.pin.rehashed',
      actor: 'engine',
      system: row.systemName,
      authid: row.authid,
      challengeId: row.id,
      outcome: 'success',
      reason: null,
      ip: null,
      userAgent: null,
      details: { peppered: true },
    },
  ])
}
