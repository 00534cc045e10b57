import { z } from 'zod'
import { MessageSettings, Rule } from '../schemas.js'
import { Channel, Layer, Method, RateLimited, SecurityReason } from './login-answers.js'
import { Instant, named } from './registry.js'

// What the admin routes answer: systems, users, assignments, API keys, settings, simulate, the audit.

const MethodPolicy = z.strictObject({
  enabled: z.boolean(),
  channels: z.array(Channel).describe('In order of preference; the first the user can receive is used.'),
  lifetimeSeconds: z.number().int(),
})
export const SystemPolicies = named(
  'SystemPolicies',
  "A system's login methods, as the server resolved them.",
  z.strictObject({
    passwordless: MethodPolicy.extend({
      returnUrls: z
        .array(z.string())
        .optional()
        .describe('Same device: the exact URLs a start may name as `returnUrl`.'),
    }),
    pin: MethodPolicy.extend({ pinLength: z.number().int(), attempts: z.number().int() }),
  }),
)

export const Sensitivity = z.enum(['low', 'medium', 'high'])

export const System = named(
  'System',
  'An application users sign in to.',
  z.strictObject({
    id: z.string(),
    name: z.string(),
    policies: SystemPolicies,
    returnUrl: z.string().nullable(),
    messages: MessageSettings,
    sensitivity: Sensitivity,
    rules: z.array(Rule).describe('The adaptive rules, in order.'),
    rulesVersion: z.number().int().describe('How often the rules changed (0: never set).'),
    rulesUpdatedAt: Instant.nullable(),
    rulesUpdatedBy: z.string().nullable(),
    createdAt: Instant,
    updatedAt: Instant,
  }),
)
export const SystemList = named('SystemList', 'Every system.', z.strictObject({ systems: z.array(System) }))

const Scalar = z.union([z.string(), z.number(), z.boolean()])
export const User = named(
  'User',
  'A user; `locked` is cleared only by an unlock.',
  z.strictObject({
    id: z.string(),
    authid: z.string(),
    displayName: z.string().nullable(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    locale: z.string().nullable(),
    attributes: z.record(z.string(), Scalar).describe('Flat attributes adaptive rules can test.'),
    hasMemorizedPin: z.boolean().describe('Whether the user has a memorized PIN (never the PIN).'),
    status: z.enum(['active', 'disabled', 'locked']),
    createdAt: Instant,
    updatedAt: Instant,
  }),
)
export const UserPage = named(
  'UserPage',
  'One page of users; pass `next` as `after` for the following page.',
  z.strictObject({ users: z.array(User), next: z.string().nullable() }),
)
export const Unlocked = named('Unlocked', 'What an unlock did.', z.strictObject({ wasLocked: z.boolean() }))

export const Assignment = named(
  'Assignment',
  'One system a user may access, and how; `channel` null takes the policy’s first usable one.',
  z.strictObject({ system: z.string(), method: Method, channel: Channel.nullable() }),
)
export const AssignmentList = named(
  'AssignmentList',
  'A user’s assignments.',
  z.strictObject({ assignments: z.array(Assignment) }),
)

const Scope = z.enum(['auth', 'admin'])
const apiKeyFields = {
  id: z.string(),
  name: z.string(),
  prefix: z.string().describe('Enough of the key to tell keys apart (`fsk_3fQ9aZ`).'),
  scopes: z.array(Scope),
  createdAt: Instant,
  lastUsedAt: Instant.nullable(),
  expiresAt: Instant.nullable(),
  revokedAt: Instant.nullable(),
}
export const ApiKeyInfo = named(
  'ApiKeyInfo',
  'An API key as listed: never the key itself.',
  z.strictObject(apiKeyFields),
)
export const CreatedApiKey = named(
  'CreatedApiKey',
  'A key just created: `key` is shown this once.',
  z.strictObject({ ...apiKeyFields, key: z.string() }),
)
export const ApiKeyList = named('ApiKeyList', 'Every API key.', z.strictObject({ keys: z.array(ApiKeyInfo) }))

const count = z.number().int()
export const AccountSettings = named(
  'AccountSettings',
  'The account’s settings: uniform responses, send limits, lockout, audit retention, return origins, messages.',
  z.strictObject({
    uniformResponses: z.boolean(),
    sendLimits: z.strictObject({
      perUserPerHour: count,
      perDestinationPerHour: count,
      perApiKeyPerMinute: count,
      perAccountPerDay: count,
      resendCooldownSeconds: count,
    }),
    lockout: z.strictObject({
      freeFailures: count,
      baseDelaySeconds: count,
      maxDelaySeconds: count,
      lockAfter: count,
    }),
    auditRetentionDays: count.nullable(),
    returnOrigins: z.array(z.string()),
    messages: MessageSettings.unwrap().optional(),
  }),
)

export const Simulation = named(
  'Simulation',
  'The decision a start would take, with the rules that matched; or why it would be refused or throttled.',
  z.discriminatedUnion('result', [
    z.strictObject({
      result: z.literal('decision'),
      decision: z.strictObject({
        denied: z.boolean(),
        layers: z.array(Layer),
        channel: Channel.nullable(),
        lifetimeSeconds: count,
        attempts: count,
        numberMatching: z.boolean(),
        sensitivity: Sensitivity,
        matched: z.array(z.strictObject({ rule: z.string(), because: z.array(z.string()) })),
        reason: z.string().nullable(),
      }),
    }),
    z.strictObject({ result: z.literal('security error'), reason: SecurityReason }),
    RateLimited,
  ]),
)

export const AuditEvent = named(
  'AuditEvent',
  'One audit event, chained to the one before by its MAC.',
  z.strictObject({
    accountId: z.string(),
    seq: count,
    at: z.number().describe('When it happened, in milliseconds since the Unix epoch.'),
    type: z
      .string()
      .describe('`challenge.started`, `challenge.checked`, `link.confirmed`, `system.created`, …'),
    actor: z.string(),
    system: z.string().nullable(),
    authid: z.string().nullable(),
    challengeId: z.string().nullable(),
    outcome: z.string(),
    reason: SecurityReason.nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
    prevMac: z.string().nullable(),
    mac: z.string().nullable(),
  }),
)
export const AuditPage = named(
  'AuditPage',
  'Audit events by ascending sequence number; `next` (null on the last page) is the following page’s `after`.',
  z.strictObject({ events: z.array(AuditEvent), next: count.nullable() }),
)
export const AuditVerdict = named(
  'AuditVerdict',
  'Whether the audit chain verifies, or the first sequence number that does not.',
  z.union([
    z.strictObject({ ok: z.literal(true), events: count, lastSeq: count }),
    z.strictObject({ ok: z.literal(false), firstBadSeq: count, problem: z.string() }),
  ]),
)
