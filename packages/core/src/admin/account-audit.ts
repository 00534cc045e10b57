import { type AuditVerdict, verifyAuditChain } from '../audit/audit-chain.js'
import { ValidationError } from '../domain/errors.js'
import { refuseControlCharacters } from '../domain/login-input.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { AuditDraft, AuditEvent, AuditQuery } from '../ports/storage.js'
import type { AdminCheckpoints } from './admin-checkpoints.js'
import { type AuditSearch, auditSearch } from './admin-insights.js'
import { keepVerdict } from './login-stats.js'

const DAY = 86_400_000

/** Filters of `audit.list`; times are Dates, `after` is the `next` cursor of the previous page. */
export interface AuditFilters {
  readonly since?: Date
  readonly until?: Date
  readonly system?: string
  readonly authid?: string
  readonly type?: string
  readonly outcome?: string
  readonly after?: number
  readonly limit?: number
}

/** An account's audit trail: search, list, purge and verify. */
export type AccountAudit = AuditSearch & {
  /** Events in order, filtered; `next` is the cursor for the following page, or null at the end. */
  list(filters?: AuditFilters): Promise<{ events: AuditEvent[]; next: number | null }>
  /** Deletes events older than `before`, keeping the rest verifiable from an anchor; audited. */
  purge(options: { readonly before: Date }): Promise<{ purged: number }>
  /** Verifies this account's chain with the engine's secret. */
  verify(): Promise<AuditVerdict>
}

/**
 * The audit trail of account `id`. `minRetentionDays` is the operator's minimum retention (a purge
 * may not reach younger events); `audit` drafts this handle's own events.
 */
export function accountAudit(
  ctx: EngineContext,
  id: string,
  audit: (type: string, details: Record<string, unknown>) => AuditDraft,
  minRetentionDays: number | undefined,
  checkpoints: AdminCheckpoints,
): AccountAudit {
  const { storage, clock } = ctx
  return {
    ...auditSearch(ctx, id),
    async list(filters = {}) {
      // Read your writes: delivery outcomes still queued behind their sends are written first.
      await ctx.outcomes.flush()
      const limit = filters.limit ?? 100
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new ValidationError('limit', 'must be a whole number from 1 to 1000')
      if (filters.after !== undefined && (!Number.isSafeInteger(filters.after) || filters.after < 0))
        throw new ValidationError('after', 'must be a sequence number')
      const query: AuditQuery = {
        accountId: id,
        limit,
        ...(filters.after !== undefined ? { after: filters.after } : {}),
        ...(filters.since !== undefined ? { since: optionalDate(filters.since, 'since') } : {}),
        ...(filters.until !== undefined ? { until: optionalDate(filters.until, 'until') } : {}),
        ...(filters.system !== undefined ? { system: textFilter(filters.system, 'system') } : {}),
        ...(filters.authid !== undefined ? { authid: textFilter(filters.authid, 'authid') } : {}),
        ...(filters.type !== undefined ? { type: textFilter(filters.type, 'type') } : {}),
        ...(filters.outcome !== undefined ? { outcome: textFilter(filters.outcome, 'outcome') } : {}),
      }
      const events = await storage.audit.listAudit(query)
      return { events, next: events.length === limit ? (events.at(-1)?.seq ?? null) : null }
    },
    async purge({ before }) {
      if (!(before instanceof Date) || Number.isNaN(before.getTime()))
        throw new ValidationError('before', 'must be a date')
      if (minRetentionDays !== undefined && before.getTime() > clock.now() - minRetentionDays * DAY)
        throw new ValidationError(
          'before',
          `must be at least ${minRetentionDays} days ago: the operator's minimum audit retention (ceilings.auditRetentionDays)`,
        )
      const purged = await storage.audit.purgeAudit(id, before.getTime(), [
        audit('audit.purged', { before: before.getTime() }),
      ])
      await checkpoints.afterAdmin(id)
      return { purged }
    },
    verify: () =>
      keepVerdict(
        ctx,
        id,
        verifyAuditChain(storage, ctx.keyring, id).then((verdict) => checkpoints.verify(id, verdict)),
      ),
  }
}

/** An audit filter's text: what a column could hold, and no control character (S30). */
function textFilter(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > 256)
    throw new ValidationError(field, 'must be a string of at most 256 characters')
  return refuseControlCharacters(value, field)
}

function optionalDate(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new ValidationError(field, 'must be a valid date')
  return value.getTime()
}
