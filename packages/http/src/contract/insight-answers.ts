import { z } from 'zod'
import { AuditEvent, AuditVerdict, User } from './admin-answers.js'
import { Channel } from './login-answers.js'
import { Instant, named } from './registry.js'

// What the routes added for the administrators' screens answer (user search, the outbox, statistics,
// the newest audit events, previews, console access), and the operator's accounts.

const count = z.number().int()

export const UserSearchPage = named(
  'UserSearchPage',
  'One page of matching users; pass `next` as `after` for the following page.',
  z.strictObject({ users: z.array(User), next: z.string().nullable() }),
)

export const Delivery = named(
  'Delivery',
  'A message in the outbox as administrators see it: the destination masked, never the message.',
  z.strictObject({
    id: z.string(),
    accountId: z.string(),
    challengeId: z.string(),
    channel: Channel,
    destination: z.string(),
    status: z.enum(['queued', 'failed', 'sent', 'abandoned', 'cancelled']),
    attempts: count,
    nextAttemptAt: Instant,
    claimedUntil: Instant.nullable(),
    providerId: z.string().nullable(),
    lastError: z.string().nullable(),
    createdAt: Instant,
    updatedAt: Instant,
    expiresAt: Instant,
    fallbackOf: z.string().nullable(),
    system: z.string().nullable(),
    authid: z.string().nullable(),
  }),
)
export const DeliveryPage = named(
  'DeliveryPage',
  'One page of the outbox; pass `next` as `after` for the following page.',
  z.strictObject({ deliveries: z.array(Delivery), next: z.string().nullable() }),
)
export const Requeued = named(
  'Requeued',
  'The delivery goes at the next outbox run.',
  z.strictObject({ requeued: z.literal(true) }),
)

export const LoginStats = named(
  'LoginStats',
  'Logins per hour or day, succeeded and failed, and totals per system.',
  z.strictObject({
    bucket: z.enum(['hour', 'day']),
    buckets: z.array(z.strictObject({ start: Instant, succeeded: count, failed: count })),
    systems: z.array(z.strictObject({ system: z.string(), succeeded: count, failed: count })),
    behind: count.describe('Audit events not yet counted (the count catches up in batches).'),
  }),
)

export const Overview = named(
  'Overview',
  'The numbers an administrator looks at first.',
  z.strictObject({
    pendingChallenges: count,
    deliveries: z.strictObject({ waiting: count, abandonedLastDay: count }),
    lockedUsers: count,
    audit: z.strictObject({
      lastSeq: count,
      lastVerification: z.intersection(AuditVerdict, z.strictObject({ at: Instant })).nullable(),
    }),
  }),
)

export const AuditSearchPage = named(
  'AuditSearchPage',
  'Audit events newest first; `next` is the following page’s `before`, `scanned` the window read.',
  z.strictObject({
    events: z.array(AuditEvent),
    next: count.nullable(),
    scanned: z.strictObject({ from: count, to: count }),
  }),
)

export const MessagePreview = named(
  'MessagePreview',
  'A message as a user would get it, with a sample link or PIN.',
  z.strictObject({
    channel: Channel,
    to: z.string(),
    subject: z.string().optional(),
    text: z.string(),
    html: z.string().optional(),
    kind: z.enum(['link', 'pin']),
    locale: z.string(),
    idempotencyKey: z.string(),
    fromName: z.string().optional(),
    accountId: z.string().optional(),
  }),
)

export const ConsoleGrant = named(
  'ConsoleGrant',
  'The user’s console role now, and whether the grant created the user.',
  z.strictObject({ role: z.enum(['admin', 'viewer']).nullable(), createdUser: z.boolean() }),
)

const accountFields = { id: z.string(), name: z.string(), createdAt: Instant }
export const Account = named('Account', 'A tenant.', z.strictObject(accountFields))
export const AccountList = named(
  'AccountList',
  'Every account.',
  z.strictObject({ accounts: z.array(Account) }),
)
export const CreatedAccount = named(
  'CreatedAccount',
  'A new account with its first admin key, shown this once.',
  z.strictObject({ ...accountFields, adminKey: z.string(), adminKeyId: z.string() }),
)
