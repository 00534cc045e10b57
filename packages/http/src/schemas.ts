import {
  contextBytes,
  MAX_CONTEXT_BYTES,
  NO_CONTROL_CHARACTERS,
  NO_CONTROL_CHARACTERS_BUT_LINE_BREAKS,
} from '@flexsecure/core'
import { z } from 'zod'

// Every request body is checked against one of these (S28). They are also the source of the
// OpenAPI document, so what is documented is what is enforced.

/** S30: every free-text field refuses NUL and the other control characters. */
const text = () => z.string().regex(NO_CONTROL_CHARACTERS, 'must not contain control characters')
/** A message body template: line breaks allowed, no other control character. */
const multiline = () =>
  z
    .string()
    .regex(
      NO_CONTROL_CHARACTERS_BUT_LINE_BREAKS,
      'must not contain control characters other than line breaks',
    )

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

export const Name = text().min(1).max(256)

/**
 * `context` on start and check: a flat map of at most 32 keys to short strings, numbers or booleans,
 * at most 4 KiB as JSON in all (S35).
 */
export const Context = z
  .record(text().min(1).max(64), z.union([text().max(1024), z.number(), z.boolean()]))
  .refine((value) => Object.keys(value).length <= 32, 'must have at most 32 keys')
  .refine((value) => !Object.keys(value).some((key) => FORBIDDEN_KEYS.has(key)), 'has a forbidden key')
  .refine(
    (value) => contextBytes(value) <= MAX_CONTEXT_BYTES,
    `must take at most ${MAX_CONTEXT_BYTES} bytes as JSON (4 KiB)`,
  )
  .meta({ description: `At most 32 keys and ${MAX_CONTEXT_BYTES} bytes as JSON (S35).` })

/** Same device: one of the system's `policies.passwordless.returnUrls`, exactly. */
const ReturnUrlChoice = text().min(1).max(2048)

export const StartBody = z.strictObject({
  system: Name,
  authid: Name,
  context: Context.optional(),
  returnUrl: ReturnUrlChoice.optional(),
})

/** `POST /v1/redeem`: the completion code the host's return URL received (`?code=`). */
export const RedeemBody = z.strictObject({ code: text().min(1).max(64) })

export const CheckBody = z.strictObject({
  system: Name,
  authid: Name,
  /** A string as typed, or a JSON number (left-padded with zeros to the PIN length). */
  pin: z.union([text().max(32), z.number().int().min(0).max(9_999_999_999)]).optional(),
  /** Optional: the challenge this poller waits for (from start's answer). */
  challengeId: text().min(1).max(64).optional(),
  /** Optional: where the user's request came from (`ip`, `userAgent`), for the audit trail. */
  context: Context.optional(),
})

const Channel = z.enum(['email', 'sms'])
const Method = z.enum(['passwordless', 'pin'])
const MethodPolicy = z.strictObject({
  enabled: z.boolean().optional(),
  channels: z.array(Channel).min(1).max(2).optional(),
  lifetimeSeconds: z.number().int().optional(),
})
const PinPolicy = MethodPolicy.extend({
  pinLength: z.number().int().optional(),
  attempts: z.number().int().optional(),
})
const PasswordlessPolicy = MethodPolicy.extend({
  /** Same device: exact URLs a start may name (https, or http on localhost / 127.0.0.1 / [::1]). */
  returnUrls: z.array(text().max(2048)).max(20).optional(),
})
export const Policies = z.strictObject({
  passwordless: PasswordlessPolicy.optional(),
  pin: PinPolicy.optional(),
})

const Template = multiline().min(1).max(2000)
const OneLineTemplate = text().min(1).max(2000)
/** What messages say and who they come from; checked in full by the engine (placeholders, subjects). */
export const MessageSettings = z
  .strictObject({
    appName: text().min(1).max(60).optional(),
    senderName: text().min(1).max(80).optional(),
    webOtpDomain: text().min(1).max(253).optional(),
    templates: z
      .record(
        text().min(2).max(35),
        z.strictObject({
          emailLinkSubject: OneLineTemplate.optional(),
          emailLinkText: Template.optional(),
          emailLinkButton: OneLineTemplate.optional(),
          emailPinSubject: OneLineTemplate.optional(),
          emailPinText: Template.optional(),
          smsPin: Template.optional(),
          smsLink: Template.optional(),
        }),
      )
      .optional(),
  })
  .nullable()

const Scalar = z.union([text().max(1024), z.number(), z.boolean()])
const Labels = z.array(text().min(1).max(128)).min(1).max(100)
const Sensitivity = z.enum(['low', 'medium', 'high'])
const TimeWindow = z.strictObject({
  timeZone: text().min(1).max(64),
  days: z
    .array(z.enum(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']))
    .min(1)
    .max(7)
    .optional(),
  from: text().max(5).optional(),
  to: text().max(5).optional(),
})
const Cidrs = z.array(text().max(64)).min(1).max(100)
/** One adaptive rule: every condition given must hold; the effects only ever tighten. */
export const Rule = z.strictObject({
  name: text().min(1).max(100),
  when: z
    .strictObject({
      ipIn: Cidrs.optional(),
      ipNotIn: Cidrs.optional(),
      timeIn: TimeWindow.optional(),
      timeNotIn: TimeWindow.optional(),
      sensitivityAtLeast: Sensitivity.optional(),
      resource: Labels.optional(),
      action: Labels.optional(),
      newDevice: z.boolean().optional(),
      failuresAtLeast: z.number().int().optional(),
      daysSinceLastSuccessAtLeast: z.number().int().optional(),
      userAttributes: z.record(text().min(1).max(64), z.union([Scalar, z.array(Scalar).max(100)])).optional(),
      custom: Labels.optional(),
    })
    .optional(),
  effect: z.strictObject({
    deny: z.literal(true).optional(),
    requireMemorizedPin: z.literal(true).optional(),
    channel: z.enum(['email', 'sms']).optional(),
    maxLifetimeSeconds: z.number().int().optional(),
    maxAttempts: z.number().int().optional(),
    numberMatching: z.literal(true).optional(),
  }),
})

const ReturnUrl = text().max(2048).nullable()
export const SystemCreate = z.strictObject({
  name: Name,
  policies: Policies.optional(),
  returnUrl: ReturnUrl.optional(),
  messages: MessageSettings.optional(),
  sensitivity: Sensitivity.optional(),
  rules: z.array(Rule).max(100).optional(),
})
export const SystemUpdate = SystemCreate.omit({ name: true })

const Contact = text().max(320).nullable()
export const UserCreate = z.strictObject({
  authid: Name,
  displayName: text().max(256).nullable().optional(),
  email: Contact.optional(),
  phone: Contact.optional(),
  /** The language of the user's messages: en, de, or a tag the account has templates for. */
  locale: text().min(2).max(35).nullable().optional(),
  /** Flat attributes adaptive rules can test. */
  attributes: z.record(text().min(1).max(64), Scalar).optional(),
  status: z.enum(['active', 'disabled']).optional(),
})
export const UserUpdate = UserCreate.omit({ authid: true })

export const AssignBody = z.strictObject({
  assignments: z
    .array(z.strictObject({ system: Name, method: Method, channel: Channel.nullable().optional() }))
    .min(1)
    .max(100),
})

export const KeyCreate = z.strictObject({
  name: text().min(1).max(200),
  scopes: z
    .array(z.enum(['auth', 'admin']))
    .min(1)
    .max(2),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
})

/** A strict object whose refusal of an unknown key lists the valid ones (a typo must not pass silently). */
const exactObject = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((k) => `'${k}'`).join(', ')}; valid fields: ${Object.keys(shape).join(', ')}`
        : undefined,
  })
const count = z.number().int().optional()

export const SettingsUpdate = exactObject({
  uniformResponses: z.boolean().optional(),
  sendLimits: exactObject({
    perUserPerHour: count,
    perDestinationPerHour: count,
    perApiKeyPerMinute: count,
    perAccountPerDay: count,
    resendCooldownSeconds: count,
  }).optional(),
  lockout: exactObject({
    freeFailures: count,
    baseDelaySeconds: count,
    maxDelaySeconds: count,
    lockAfter: count,
  }).optional(),
  auditRetentionDays: z.number().int().nullable().optional(),
  returnOrigins: z.array(text().max(256)).max(50).optional(),
  messages: MessageSettings.optional(),
})

/** The first problem in `body`, as one line naming the field. */
export function describeIssue(error: z.ZodError, body?: unknown): { error: string; field: string } {
  const issue = error.issues[0]
  const field = issue?.path.map(String).join('.') || 'body'
  // A field left out reads as such, not as zod's "expected string, received undefined".
  if (issue?.code === 'invalid_type' && issue.path.length > 0 && valueAt(body, issue.path) === undefined)
    return { field, error: `${field}: is required` }
  if (issue?.code === 'unrecognized_keys')
    return {
      field,
      error: issue.message.startsWith('unknown field')
        ? issue.message
        : `unknown field ${issue.keys.map((k) => `'${k}'`).join(', ')}`,
    }
  // A record's key that fails its schema: say what is wrong with it, not only that it is wrong.
  if (issue?.code === 'invalid_key' && issue.issues[0])
    return { field, error: `${field}: key ${issue.issues[0].message}` }
  return { field, error: `${field}: ${issue?.message ?? 'is invalid'}` }
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let value = body
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

/** `POST /v1/admin/policy/simulate`: the same fields as start. */
export const SimulateBody = StartBody.omit({ returnUrl: true })

/** `PUT /v1/admin/users/{authid}/pin`: set (or, with null, clear) the user's memorized PIN. */
export const PinSet = z.strictObject({ pin: text().max(32).nullable() })

/** `POST /v1/pin`: the user sets their memorized PIN within 5 minutes of an authenticated login. */
export const PinAfterLogin = z.strictObject({
  system: Name,
  authid: Name,
  challengeId: text().min(1).max(64),
  pin: text().max(32),
})
