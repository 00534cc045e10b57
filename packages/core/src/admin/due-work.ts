import { ValidationError } from '../domain/errors.js'
import { challengeEvent } from '../login/login-gate.js'
import { cancelDue, deliverDue } from '../outbox/outbox.js'
import { type EngineContext, emit } from '../ports/engine-context.js'
import type { AuditDraft } from '../ports/storage.js'
import { adminAudit } from './account-admin.js'

// The engine's periodic work, what `runDue` and `deliverDue` do: a server calls them on timers
// (`background-work.ts`), a test with its clock.

const SWEEP_BATCH = 500
/** Batches of ended challenges one `runDue` deletes at most; a backlog goes over several runs. */
const PURGE_BATCHES_PER_RUN = 20
const DAY = 86_400_000

/** What one `runDue` did. */
export interface DueWorkDone {
  expired: number
  cancelled: number
  delivered: number
  auditPurged: number
  /** Ended challenges deleted past their retention (S35). */
  challengesPurged: number
}

/** S35: days an ended challenge is kept after it expired (`retention.endedChallengesDays`, default 30). */
export function resolveRetentionDays(
  retention: { readonly endedChallengesDays?: number } | undefined,
): number {
  const days = retention?.endedChallengesDays ?? 30
  if (!Number.isInteger(days) || days < 1 || days > 36_500)
    throw new ValidationError('retention.endedChallengesDays', 'must be a whole number of days from 1')
  return days
}

/**
 * Expires live challenges whose time has passed, sends what the outbox has due, writes the refusal
 * summaries, forgets ended send-limit windows, and purges what is past its retention.
 */
export async function runDueWork(ctx: EngineContext, retentionDays: number): Promise<DueWorkDone> {
  const { storage, clock } = ctx
  let expired = 0
  for (;;) {
    const at = clock.now()
    const rows = await storage.logins.expireDue(at, SWEEP_BATCH, (row) => ({
      accountId: row.accountId,
      at,
      type: 'challenge.expired',
      actor: 'system',
      system: row.systemName,
      authid: row.authid,
      challengeId: row.id,
      outcome: 'expired',
      reason: null,
      ip: null,
      userAgent: null,
      details: null,
    }))
    for (const row of rows) emit(ctx, 'challenge.expired', challengeEvent(row, at))
    expired += rows.length
    if (rows.length < SWEEP_BATCH) break
  }
  const { cancelled, delivered } = await deliverDueWork(ctx)
  const now = clock.now()
  await appendSummaries(ctx, now)
  await storage.logins.sweepRateLimits(now)
  let auditPurged = 0
  for (const row of await storage.accounts.listAccounts()) {
    const days = ctx.effective(row.settings).auditRetentionDays
    if (days === null) continue
    const before = now - days * DAY
    auditPurged += await storage.audit.purgeAudit(row.id, before, [
      adminAudit(row.id, 'system', now, 'audit.purged', { details: { before, retentionDays: days } }),
    ])
  }
  // S35: ended challenges and their deliveries go after the retention period, in bounded batches.
  let challengesPurged = 0
  for (let batch = 0; batch < PURGE_BATCHES_PER_RUN; batch++) {
    const purged = await storage.logins.purgeEndedChallenges(now - retentionDays * DAY, SWEEP_BATCH)
    challengesPurged += purged
    if (purged < SWEEP_BATCH) break
  }
  // Completion codes live 60 seconds; a spent or expired one is only clutter.
  await storage.completionCodes?.sweep(now)
  return { expired, cancelled, delivered, auditPurged, challengesPurged }
}

/** Sends the outbox's due deliveries and cancels those of challenges that ended. */
export async function deliverDueWork(ctx: EngineContext): Promise<{ cancelled: number; delivered: number }> {
  // Outcomes queued behind earlier sends first, then cancel, so nothing is sent for a challenge that
  // ended since its last attempt; this run's own outcomes are written before it returns.
  await ctx.outcomes.flush()
  const cancelled = await cancelDue(ctx)
  const delivered = await deliverDue(ctx)
  await ctx.outcomes.flush()
  return { cancelled, delivered }
}

/** Writes the refusal summaries of the windows that ended (S31; `all`: every open one), one append per account. */
export async function appendSummaries(ctx: EngineContext, now: number, all = false): Promise<void> {
  const byAccount = new Map<string, AuditDraft[]>()
  for (const draft of ctx.throttle.drain(now, all))
    byAccount.set(draft.accountId, [...(byAccount.get(draft.accountId) ?? []), draft])
  for (const drafts of byAccount.values()) await ctx.storage.audit.appendAudit(drafts)
}
