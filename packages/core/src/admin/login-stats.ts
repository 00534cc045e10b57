import type { AuditVerdict } from '../audit/audit-chain.js'
import { StorageError, ValidationError } from '../domain/errors.js'
import type { AdminQueryStore, LoginCount } from '../ports/admin-query-store.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { AuditEvent } from '../ports/storage.js'

// Login counts for the overview's chart, read from the audit trail after the fact: the login path
// writes nothing for them. Events are counted once, in order, into hourly buckets per system; a
// watermark (the last counted sequence number) moves with each batch in the same transaction, so two
// processes never count an event twice. Audit sequence numbers become visible in order (each append
// holds the account's head row until it commits), so everything up to the watermark was counted.

const HOUR = 3_600_000
const DAY = 24 * HOUR
const BATCH = 1000

/** The time buckets of `stats.logins`. */
export type LoginBucket = 'hour' | 'day'

/** Logins in one bucket (all systems, or the one asked for). */
export interface LoginBucketCount {
  readonly start: Date
  readonly succeeded: number
  readonly failed: number
}

/** What `stats.logins` answers. */
export interface LoginStats {
  readonly bucket: LoginBucket
  readonly buckets: readonly LoginBucketCount[]
  /** Totals over the whole range, per system, by name. */
  readonly systems: readonly {
    readonly system: string
    readonly succeeded: number
    readonly failed: number
  }[]
  /** Audit events not yet counted (the count catches up in batches). */
  readonly behind: number
}

/** What `stats.overview` answers: the numbers an administrator looks at first. */
export interface Overview {
  /** Logins waiting for their link or PIN. */
  readonly pendingChallenges: number
  /** Messages waiting to be sent or retried, and messages abandoned in the last 24 hours. */
  readonly deliveries: { readonly waiting: number; readonly abandonedLastDay: number }
  readonly lockedUsers: number
  readonly audit: {
    readonly lastSeq: number
    /** The latest verification of the chain (by anyone: API, CLI, console), or null. */
    readonly lastVerification: (AuditVerdict & { readonly at: Date }) | null
  }
}

/**
 * Whether an audit event is a login that succeeded or failed: `check` answered `authenticated`
 * (succeeded), or `expired`, or a security error other than a poll after the end; or `start` was
 * refused for a system that exists (failed). Null for everything else.
 */
export function loginOutcome(event: AuditEvent): 'succeeded' | 'failed' | null {
  if (event.system === null) return null
  if (event.type === 'challenge.checked') {
    if (event.outcome === 'authenticated') return 'succeeded'
    if (event.outcome === 'expired') return 'failed'
    if (event.outcome === 'security error' && event.reason !== 'no_pending_challenge') return 'failed'
    return null
  }
  if (event.type === 'challenge.started' && event.outcome === 'security error')
    return event.reason === 'unknown_system' ? null : 'failed'
  return null
}

/** The storage's admin query store, or a StorageError that names what is missing. */
export function requireAdminQueries(ctx: EngineContext): AdminQueryStore {
  const store = ctx.storage.adminQueries
  if (!store)
    throw new StorageError(
      'this storage has no admin query store (Storage.adminQueries); see @flexsecure/kysely',
    )
  return store
}

/** Counts up to `budget` uncounted audit events of the account; returns how many and how many remain. */
export async function countLogins(
  ctx: EngineContext,
  accountId: string,
  budget = 20_000,
): Promise<{ counted: number; behind: number }> {
  const store = requireAdminQueries(ctx)
  let { countedSeq } = await store.adminState(accountId)
  let counted = 0
  while (counted < budget) {
    const limit = Math.min(BATCH, budget - counted)
    const events = await ctx.storage.audit.listAudit({ accountId, after: countedSeq, limit })
    const last = events.at(-1)
    if (!last) break
    const buckets = new Map<string, LoginCount>()
    for (const event of events) {
      const outcome = loginOutcome(event)
      if (!outcome) continue
      const hour = Math.floor(event.at / HOUR)
      const key = `${hour}\u0000${event.system}`
      const current = buckets.get(key) ?? { hour, system: event.system as string, succeeded: 0, failed: 0 }
      buckets.set(key, { ...current, [outcome]: current[outcome] + 1 })
    }
    // Another process counted this batch first: its counts stand, and ours are dropped.
    if (!(await store.addLoginCounts(accountId, countedSeq, last.seq, [...buckets.values()]))) break
    counted += events.length
    countedSeq = last.seq
    if (events.length < limit) break
  }
  const head = await ctx.storage.audit.getAuditHead(accountId)
  return { counted, behind: Math.max(0, (head?.seq ?? 0) - countedSeq) }
}

/** Logins per hour (the last 24 by default) or per day (the last 14), succeeded and failed. */
export async function loginStats(
  ctx: EngineContext,
  accountId: string,
  options: {
    readonly bucket?: LoginBucket
    readonly until?: Date
    readonly count?: number
    readonly system?: string
  },
): Promise<LoginStats> {
  const bucket = options.bucket ?? 'hour'
  if (bucket !== 'hour' && bucket !== 'day') throw new ValidationError('bucket', "must be 'hour' or 'day'")
  const size = bucket === 'hour' ? HOUR : DAY
  const count = options.count ?? (bucket === 'hour' ? 24 : 14)
  if (!Number.isInteger(count) || count < 1 || count > (bucket === 'hour' ? 24 * 31 : 366))
    throw new ValidationError('count', `must be a whole number from 1 to ${bucket === 'hour' ? 744 : 366}`)
  const until = options.until ?? new Date(ctx.clock.now())
  if (!(until instanceof Date) || Number.isNaN(until.getTime()))
    throw new ValidationError('until', 'must be a date')
  // The bucket holding `until` is the last one shown.
  const end = (Math.floor(until.getTime() / size) + 1) * size
  const start = end - count * size
  const { behind } = await countLogins(ctx, accountId)
  const rows = await requireAdminQueries(ctx).loginCounts(accountId, start / HOUR, end / HOUR)
  const buckets = Array.from({ length: count }, (_, i) => ({ succeeded: 0, failed: 0, at: start + i * size }))
  const systems = new Map<string, { system: string; succeeded: number; failed: number }>()
  for (const row of rows) {
    const total = systems.get(row.system) ?? { system: row.system, succeeded: 0, failed: 0 }
    total.succeeded += row.succeeded
    total.failed += row.failed
    systems.set(row.system, total)
    if (options.system !== undefined && row.system !== options.system) continue
    const slot = buckets[Math.floor((row.hour * HOUR - start) / size)]
    if (!slot) continue
    slot.succeeded += row.succeeded
    slot.failed += row.failed
  }
  return {
    bucket,
    buckets: buckets.map((b) => ({ start: new Date(b.at), succeeded: b.succeeded, failed: b.failed })),
    systems: [...systems.values()].sort((a, b) => a.system.localeCompare(b.system)),
    behind,
  }
}

/** The overview's numbers, each from an index or a small table, so the page stays fast at any size. */
export async function overview(ctx: EngineContext, accountId: string): Promise<Overview> {
  const store = requireAdminQueries(ctx)
  const now = ctx.clock.now()
  const [pendingChallenges, deliveries, lockedUsers, state, head] = await Promise.all([
    store.countLiveChallenges(accountId, now),
    store.countDeliveries(accountId, now - DAY),
    store.countUsers(accountId, 'locked'),
    store.adminState(accountId),
    ctx.storage.audit.getAuditHead(accountId),
  ])
  return {
    pendingChallenges,
    deliveries: { waiting: deliveries.waiting, abandonedLastDay: deliveries.abandoned },
    lockedUsers,
    audit: {
      lastSeq: head?.seq ?? 0,
      lastVerification:
        state.verdict && state.verifiedAt !== null
          ? { ...state.verdict, at: new Date(state.verifiedAt) }
          : null,
    },
  }
}

/** Keeps a verification's verdict for the overview, when the storage can; the verdict is returned as is. */
export async function keepVerdict(
  ctx: EngineContext,
  accountId: string,
  verdict: Promise<AuditVerdict>,
): Promise<AuditVerdict> {
  const result = await verdict
  await ctx.storage.adminQueries?.recordVerdict(accountId, ctx.clock.now(), result)
  return result
}
