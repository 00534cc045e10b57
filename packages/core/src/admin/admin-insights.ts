import { NotFoundError, ValidationError } from '../domain/errors.js'
import { requireName } from '../domain/login-input.js'
import { CHANNELS, type Channel, METHODS, type Method, type User, type UserStatus } from '../domain/model.js'
import {
  composeMessage,
  firstSetting,
  type MessageSettings,
  requireLocale,
  resolveMessageSettings,
} from '../outbox/messages.js'
import type { DeliveryListing, DeliveryQueue, UserSearchField } from '../ports/admin-query-store.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { Message } from '../ports/notifier.js'
import type { AuditEvent } from '../ports/storage.js'
import { adminAudit } from './account-admin.js'
import { type ConsoleGrant, type ConsoleRole, grantConsoleAccess } from './console-access.js'
import {
  countLogins,
  type LoginBucket,
  type LoginStats,
  loginStats,
  type Overview,
  overview,
  requireAdminQueries,
} from './login-stats.js'
import type { SystemsAdmin } from './systems-admin.js'
import { toUser, type UsersAdmin } from './users-admin.js'

// What administrators' screens need beyond the first admin surface, on the account handle so that the
// console and the admin API do exactly the same things: user search, the outbox, login statistics,
// the newest audit events, message previews and console access. The reads go through the storage's
// optional admin query store; a storage without it refuses them with a clear StorageError.

const SEARCH_FIELDS: readonly UserSearchField[] = ['authid', 'displayName', 'email', 'phone']
const STATUSES: readonly UserStatus[] = ['active', 'disabled', 'locked']
/** Audit events a newest-first page reads at most before it answers (and says where to go on). */
const DEFAULT_AUDIT_SCAN = 20_000
const MAX_AUDIT_SCAN = 200_000

/** `users.search`: a page of users whose field starts with `query`. */
export interface UserSearch {
  search(options?: {
    readonly query?: string
    /** The field to match (default `authid`). */
    readonly by?: UserSearchField
    readonly status?: UserStatus
    /** The `next` of the previous page. */
    readonly after?: string
    readonly limit?: number
  }): Promise<{ users: User[]; next: string | null }>
}

/** A delivery as administrators see it: the destination masked, never the message. */
export type DeliveryInfo = Omit<
  DeliveryListing,
  'nextAttemptAt' | 'createdAt' | 'updatedAt' | 'expiresAt' | 'claimedUntil'
> & {
  readonly nextAttemptAt: Date
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly expiresAt: Date
  readonly claimedUntil: Date | null
}

/** The outbox as administrators see it. */
export interface DeliveriesAdmin {
  /** Waiting deliveries (queued, or failed and due for a retry) or abandoned ones, one page. */
  list(options?: {
    readonly queue?: DeliveryQueue
    /** The `next` of the previous page. */
    readonly after?: string
    readonly limit?: number
  }): Promise<{ deliveries: DeliveryInfo[]; next: string | null }>
  /**
   * Sends a waiting delivery at the next outbox run instead of after its back-off; audited. An
   * abandoned delivery cannot be sent again (its content was erased): its user starts a new login.
   */
  requeue(id: string): Promise<{ requeued: boolean }>
}

/** Login statistics and the overview. */
export interface StatsAdmin {
  logins(options?: {
    readonly bucket?: LoginBucket
    readonly until?: Date
    readonly count?: number
    readonly system?: string
  }): Promise<LoginStats>
  overview(): Promise<Overview>
  /** Counts up to `budget` new audit events into the login statistics (the server does it periodically). */
  countLogins(budget?: number): Promise<{ counted: number; behind: number }>
}

/** `audit.search`: newest first, reading a bounded window of the trail per page. */
export interface AuditSearch {
  search(options?: {
    /** Inclusive lower and exclusive upper bounds on the events' times. */
    readonly since?: Date
    readonly until?: Date
    readonly system?: string
    readonly authid?: string
    readonly type?: string
    readonly outcome?: string
    /** The `next` of the previous page: events older than this sequence number. */
    readonly before?: number
    readonly limit?: number
    /** Events to read at most for this page (default 20,000): a rare filter answers in bounded time. */
    readonly scan?: number
  }): Promise<{ events: AuditEvent[]; next: number | null; scanned: { from: number; to: number } }>
}

/** `settings.previewMessage`: a message as a user would get it, with a sample link or PIN. */
export interface MessagePreview {
  previewMessage(input: {
    readonly locale: string
    readonly method: Method
    readonly channel: Channel
    /** Include this system's overrides and name. */
    readonly system?: string
    /** Unsaved account message settings to preview instead of the saved ones. */
    readonly messages?: MessageSettings | null
  }): Promise<Message>
}

/** Console access: who may sign in to the administration console, with which role. */
export interface ConsoleAdmin {
  grant(grant: ConsoleGrant): Promise<{ readonly role: ConsoleRole | null; readonly createdUser: boolean }>
}

const encodeCursor = (parts: readonly (string | number)[]) =>
  Buffer.from(JSON.stringify(parts)).toString('base64url')

function decodeCursor(value: unknown, field: string, shape: readonly ('string' | 'number')[]): unknown[] {
  if (typeof value !== 'string' || value.length > 1200) throw new ValidationError(field, 'is not a cursor')
  let parts: unknown
  try {
    parts = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'))
  } catch {
    throw new ValidationError(field, 'is not a cursor')
  }
  if (!Array.isArray(parts) || parts.length !== shape.length || parts.some((p, i) => typeof p !== shape[i]))
    throw new ValidationError(field, 'is not a cursor')
  return parts
}

function pageLimit(value: unknown, fallback: number): number {
  const limit = value ?? fallback
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new ValidationError('limit', 'must be a whole number from 1 to 1000')
  return limit
}

/** What people type for a field, as the field is stored: an email's domain lower-cased, a phone in +digits. */
function searchPrefix(by: UserSearchField, query: string): string {
  const text = query.normalize('NFKC').trim()
  if (by === 'email' && text.includes('@')) {
    const at = text.lastIndexOf('@')
    return `${text.slice(0, at)}@${text.slice(at + 1).toLowerCase()}`
  }
  if (by === 'phone') {
    const digits = text.replace(/[\s().-]/g, '')
    return /^\d/.test(digits) ? `+${digits}` : digits
  }
  return text
}

/** `users.search` of one account. */
export function userSearch(ctx: EngineContext, accountId: string): UserSearch {
  return {
    async search(options = {}) {
      await ctx.outcomes.flush()
      const by = options.by ?? 'authid'
      if (!SEARCH_FIELDS.includes(by))
        throw new ValidationError('by', `must be one of ${SEARCH_FIELDS.join(', ')}`)
      if (options.status !== undefined && !STATUSES.includes(options.status))
        throw new ValidationError('status', `must be one of ${STATUSES.join(', ')}`)
      const query = options.query ?? ''
      if (typeof query !== 'string' || query.length > 256)
        throw new ValidationError('query', 'must be a string of at most 256 characters')
      const limit = pageLimit(options.limit, 50)
      const after =
        options.after === undefined ? undefined : decodeCursor(options.after, 'after', ['string', 'string'])
      const prefix = searchPrefix(by, query)
      // Without a query every user is listed, by authid (the status index ends with it too).
      const field = prefix === '' ? 'authid' : by
      const rows = await requireAdminQueries(ctx).searchUsers({
        accountId,
        field,
        prefix,
        ...(options.status ? { status: options.status } : {}),
        ...(after ? { after: { value: after[0] as string, id: after[1] as string } } : {}),
        limit: limit + 1,
      })
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      return {
        users: page.map(toUser),
        next: rows.length > limit && last ? encodeCursor([String(last[field] ?? ''), last.id]) : null,
      }
    },
  }
}

/** The outbox admin of one account. */
export function deliveriesAdmin(ctx: EngineContext, accountId: string, actor: string): DeliveriesAdmin {
  const info = (row: DeliveryListing): DeliveryInfo => ({
    ...row,
    nextAttemptAt: new Date(row.nextAttemptAt),
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
    expiresAt: new Date(row.expiresAt),
    claimedUntil: row.claimedUntil === null ? null : new Date(row.claimedUntil),
  })
  return {
    async list(options = {}) {
      // Read your writes: outcomes of this process's sends still queued behind them are written first.
      await ctx.outcomes.flush()
      const queue = options.queue ?? 'waiting'
      if (queue !== 'waiting' && queue !== 'abandoned')
        throw new ValidationError('queue', "must be 'waiting' or 'abandoned'")
      const limit = pageLimit(options.limit, 50)
      const after =
        options.after === undefined ? undefined : decodeCursor(options.after, 'after', ['number', 'string'])
      const rows = await requireAdminQueries(ctx).listDeliveries({
        accountId,
        queue,
        ...(after ? { after: { at: after[0] as number, id: after[1] as string } } : {}),
        limit: limit + 1,
      })
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      const key = (row: DeliveryListing) => (queue === 'waiting' ? row.nextAttemptAt : row.updatedAt)
      return {
        deliveries: page.map(info),
        next: rows.length > limit && last ? encodeCursor([key(last), last.id]) : null,
      }
    },
    async requeue(id) {
      if (typeof id !== 'string' || id.length === 0 || id.length > 64)
        throw new ValidationError('id', 'must be a delivery id')
      const now = ctx.clock.now()
      const requeued = await requireAdminQueries(ctx).requeueDelivery(accountId, id, now, [
        adminAudit(accountId, actor, now, 'delivery.requeued', { details: { delivery: id } }),
      ])
      return { requeued }
    },
  }
}

/** Login statistics of one account. */
export function statsAdmin(ctx: EngineContext, accountId: string): StatsAdmin {
  return {
    logins: async (options = {}) => {
      await ctx.outcomes.flush()
      return loginStats(ctx, accountId, options)
    },
    overview: async () => {
      await ctx.outcomes.flush()
      return overview(ctx, accountId)
    },
    countLogins: (budget) => countLogins(ctx, accountId, budget),
  }
}

/** `audit.search` of one account. */
export function auditSearch(ctx: EngineContext, accountId: string): AuditSearch {
  return {
    async search(options = {}) {
      await ctx.outcomes.flush()
      const store = requireAdminQueries(ctx)
      const limit = pageLimit(options.limit, 50)
      const scan = options.scan ?? DEFAULT_AUDIT_SCAN
      if (!Number.isInteger(scan) || scan < 1 || scan > MAX_AUDIT_SCAN)
        throw new ValidationError('scan', `must be a whole number from 1 to ${MAX_AUDIT_SCAN}`)
      const time = (value: unknown, field: string) => {
        if (value === undefined) return undefined
        if (!(value instanceof Date) || Number.isNaN(value.getTime()))
          throw new ValidationError(field, 'must be a date')
        return value.getTime()
      }
      const since = time(options.since, 'since')
      const until = time(options.until, 'until')
      if (options.before !== undefined && (!Number.isSafeInteger(options.before) || options.before < 1))
        throw new ValidationError('before', 'must be a sequence number')
      const text = (value: unknown, field: string) =>
        value === undefined || value === '' ? undefined : requireName(value, field)
      const filters = {
        system: text(options.system, 'system'),
        authid: text(options.authid, 'authid'),
        type: text(options.type, 'type'),
        outcome: text(options.outcome, 'outcome'),
      }
      const head = await ctx.storage.audit.getAuditHead(accountId)
      if (!head) throw new NotFoundError('account', accountId)
      // Times become sequence numbers by bisection (events are appended in time order), so a time
      // range is a window of the primary key and no index on time is needed.
      const seqAt = async (at: number) => {
        let low = head.anchorSeq + 1
        let high = head.seq + 1
        while (low < high) {
          const middle = Math.floor((low + high) / 2)
          const found = await store.auditAtOrAfter(accountId, middle)
          if (!found || found.at >= at) high = middle
          else low = found.seq + 1
        }
        return low
      }
      const floor = Math.max(head.anchorSeq + 1, since === undefined ? 0 : await seqAt(since))
      const top = Math.min(
        options.before ?? head.seq + 1,
        until === undefined ? head.seq + 1 : await seqAt(until),
      )
      const lowest = Math.max(floor, top - scan)
      const events = await store.newestAudit({
        accountId,
        below: top,
        atLeast: lowest,
        limit,
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        ...Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== undefined)),
      })
      const last = events.at(-1)
      const next = events.length === limit && last ? last.seq : lowest > floor ? lowest : null
      return { events, next, scanned: { from: lowest, to: top - 1 } }
    },
  }
}

/** `settings.previewMessage` of one account. */
export function messagePreview(
  ctx: EngineContext,
  accountId: string,
  systems: Pick<SystemsAdmin, 'get'>,
): MessagePreview {
  return {
    async previewMessage(input) {
      if (typeof input !== 'object' || input === null) throw new ValidationError('input', 'must be an object')
      const locale = requireLocale(input.locale, 'locale')
      if (!METHODS.includes(input.method))
        throw new ValidationError('method', `must be one of ${METHODS.join(', ')}`)
      if (!CHANNELS.includes(input.channel))
        throw new ValidationError('channel', `must be one of ${CHANNELS.join(', ')}`)
      const account = await ctx.storage.accounts.getAccount(accountId)
      if (!account) throw new NotFoundError('account', accountId)
      const system = input.system === undefined ? null : await systems.get(input.system)
      if (input.system !== undefined && !system) throw new NotFoundError('system', input.system)
      const accountMessages = Object.hasOwn(input, 'messages')
        ? resolveMessageSettings(input.messages, 'messages')
        : account.settings.messages
      const layers = [system?.messages ?? undefined, accountMessages]
      const senderName = firstSetting(layers, 'senderName')
      const webOtpDomain = firstSetting(layers, 'webOtpDomain')
      const isLink = input.method === 'passwordless'
      const lifetime = system?.policies[input.method].lifetimeSeconds ?? (isLink ? 600 : 300)
      return composeMessage({
        method: input.method,
        channel: input.channel,
        to: input.channel === 'email' ? 'user@example.com' : '+15555550100',
        appName: firstSetting(layers, 'appName') ?? system?.name ?? account.name,
        displayName: 'Alex Example',
        challengeId: 'preview',
        lifetimeMinutes: Math.max(1, Math.round(lifetime / 60)),
        secret: isLink
          ? ctx.linkUrl('PREVIEW-LINK-TOKEN-NOT-A-REAL-ONE')
          : '1234567890'.slice(0, system?.policies.pin.pinLength ?? 8),
        locale,
        ...(senderName ? { senderName } : {}),
        ...(webOtpDomain ? { webOtpDomain } : {}),
        overrides: layers,
      })
    },
  }
}

/** Console access of one account. */
export function consoleAdmin(account: {
  readonly systems: SystemsAdmin
  readonly users: UsersAdmin
}): ConsoleAdmin {
  return { grant: (grant) => grantConsoleAccess(account, grant) }
}
