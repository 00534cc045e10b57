import { withCompletionCode } from '../domain/return-urls.js'
import { newLinkToken, sha256Hex } from '../domain/secrets.js'
import type { CompletionCodeRow } from '../ports/completion-store.js'
import { type EngineContext, emit } from '../ports/engine-context.js'
import type { AuditDraft, ChallengeRow } from '../ports/storage.js'

// Same-device completion (docs/integrating.md): a confirmed link sends the browser that clicked
// it to the host's return URL with a completion code; the host's back end redeems the code for the
// login's identity. The code is a bearer secret for 60 seconds, so it is random (192 bits), stored only
// as its SHA-256, bound to its challenge, spent by one conditional write, and audited both ways.

/** How long a completion code can be redeemed: enough for one redirect and one back-end call. */
export const COMPLETION_CODE_TTL_MS = 60_000

/** What a host's back end gets for a completion code. */
export type RedeemResult =
  | {
      readonly result: 'authenticated'
      readonly accountId: string
      readonly system: string
      readonly authid: string
      readonly challengeId: string
    }
  /** Unknown, used, expired, another account's, or its login has since been superseded or ended. */
  | { readonly result: 'security error'; readonly reason: 'invalid_code' }

const CODE_SHAPE = /^[A-Za-z0-9_-]{32}$/

function codeAudit(
  row: Pick<CompletionCodeRow, 'accountId' | 'challengeId' | 'systemName' | 'authid'>,
  at: number,
  type: string,
  actor: string,
  outcome: string,
  details: Record<string, unknown> | null = null,
): AuditDraft {
  return {
    accountId: row.accountId,
    at,
    type,
    actor,
    system: row.systemName,
    authid: row.authid,
    challengeId: row.challengeId,
    outcome,
    reason: outcome === 'security error' ? 'invalid_code' : null,
    ip: null,
    userAgent: null,
    details,
  }
}

/**
 * After a link is confirmed: the return URL with a fresh completion code, or null when the login named
 * no return URL, a layer is still to pass (the memorized PIN is entered where the login started), the
 * storage cannot keep codes, or the challenge moved on before the code was stored.
 */
export async function issueCompletion(ctx: EngineContext, confirmed: ChallengeRow): Promise<string | null> {
  const store = ctx.storage.completionCodes
  if (!confirmed.returnUrl || confirmed.extraLayer !== null || !store) return null
  const code = newLinkToken()
  const now = ctx.clock.now()
  const row: CompletionCodeRow = {
    codeHash: sha256Hex(code),
    accountId: confirmed.accountId,
    challengeId: confirmed.id,
    systemName: confirmed.systemName,
    authid: confirmed.authid,
    createdAt: now,
    expiresAt: now + COMPLETION_CODE_TTL_MS,
    redeemedAt: null,
  }
  const issued = await store.issue(row, [
    codeAudit(row, now, 'completion.issued', 'user', 'success', {
      returnUrl: confirmed.returnUrl,
      expiresAt: row.expiresAt,
    }),
  ])
  if (!issued) return null
  emit(ctx, 'completion.issued', {
    accountId: row.accountId,
    challengeId: row.challengeId,
    system: row.systemName,
    authid: row.authid,
    method: confirmed.method,
    returnUrl: confirmed.returnUrl,
    expiresAt: new Date(row.expiresAt),
    at: new Date(now),
  })
  return withCompletionCode(confirmed.returnUrl, code)
}

const INVALID: RedeemResult = Object.freeze({ result: 'security error', reason: 'invalid_code' })

/**
 * Spends a completion code once, for the login's identity. `accountId` limits it to one account (an
 * API key's); null accepts any (a host that embeds the engine owns every account).
 */
export async function redeemCompletion(
  ctx: EngineContext,
  code: unknown,
  accountId: string | null,
  actor: string,
): Promise<RedeemResult> {
  const store = ctx.storage.completionCodes
  if (!store || typeof code !== 'string' || !CODE_SHAPE.test(code)) return INVALID
  const hash = sha256Hex(code)
  const now = ctx.clock.now()
  const redeemed = await store.redeem(hash, accountId, now, (row) => [
    codeAudit(row, now, 'completion.redeemed', actor, 'success'),
  ])
  if (!redeemed) {
    // A real code refused (used, expired, its login gone) is worth a trace in its own account; one
    // presented with another account's key is recorded there too, and answered the same as unknown.
    const known = await store.find(hash)
    if (known)
      await ctx.storage.audit.appendAudit([
        codeAudit(known, now, 'completion.redeemed', actor, 'security error', {
          why:
            accountId !== null && known.accountId !== accountId
              ? 'another account'
              : known.redeemedAt !== null
                ? 'already redeemed'
                : now >= known.expiresAt
                  ? 'expired'
                  : 'login no longer stands',
        }),
      ])
    return INVALID
  }
  emit(ctx, 'completion.redeemed', {
    accountId: redeemed.accountId,
    challengeId: redeemed.challengeId,
    system: redeemed.systemName,
    authid: redeemed.authid,
    at: new Date(now),
  })
  return {
    result: 'authenticated',
    accountId: redeemed.accountId,
    system: redeemed.systemName,
    authid: redeemed.authid,
    challengeId: redeemed.challengeId,
  }
}
