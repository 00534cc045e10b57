import { z } from 'zod'

// Every request body is checked against one of these (S28). They are also the source of the
// OpenAPI document, so what is documented is what is enforced.

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

export const Name = z.string().min(1).max(256)

/** `context` on start and check: a flat map of at most 32 keys to short strings, numbers or booleans. */
export const Context = z
  .record(z.string().min(1).max(64), z.union([z.string().max(1024), z.number(), z.boolean()]))
  .refine((value) => Object.keys(value).length <= 32, 'must have at most 32 keys')
  .refine((value) => !Object.keys(value).some((key) => FORBIDDEN_KEYS.has(key)), 'has a forbidden key')

export const StartBody = z.strictObject({ system: Name, authid: Name, context: Context.optional() })

export const CheckBody = z.strictObject({
  system: Name,
  authid: Name,
  /** A string as typed, or a JSON number (left-padded with zeros to the PIN length). */
  pin: z.union([z.string().max(32), z.number().int().min(0).max(9_999_999_999)]).optional(),
  /** Optional: the challenge this poller waits for (from start's answer). */
  challengeId: z.string().min(1).max(64).optional(),
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
export const Policies = z.strictObject({ passwordless: MethodPolicy.optional(), pin: PinPolicy.optional() })

const Template = z.string().min(1).max(2000)
/** What messages say and who they come from; checked in full by the engine (placeholders, subjects). */
export const MessageSettings = z
  .strictObject({
    appName: z.string().min(1).max(60).optional(),
    senderName: z.string().min(1).max(80).optional(),
    webOtpDomain: z.string().min(1).max(253).optional(),
    templates: z
      .record(
        z.string().min(2).max(35),
        z.strictObject({
          emailLinkSubject: Template.optional(),
          emailLinkText: Template.optional(),
          emailLinkButton: Template.optional(),
          emailPinSubject: Template.optional(),
          emailPinText: Template.optional(),
          smsPin: Template.optional(),
          smsLink: Template.optional(),
        }),
      )
      .optional(),
  })
  .nullable()

const Scalar = z.union([z.string().max(1024), z.number(), z.boolean()])
const Labels = z.array(z.string().min(1).max(128)).min(1).max(100)
const Sensitivity = z.enum(['low', 'medium', 'high'])
const TimeWindow = z.strictObject({
  timeZone: z.string().min(1).max(64),
  days: z
    .array(z.enum(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']))
    .min(1)
    .max(7)
    .optional(),
  from: z.string().max(5).optional(),
  to: z.string().max(5).optional(),
})
const Cidrs = z.array(z.string().max(64)).min(1).max(100)
/** One adaptive rule: every condition given must hold; the effects only ever tighten. */
export const Rule = z.strictObject({
  name: z.string().min(1).max(100),
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
      userAttributes: z
        .record(z.string().min(1).max(64), z.union([Scalar, z.array(Scalar).max(100)]))
        .optional(),
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

const ReturnUrl = z.string().max(2048).nullable()
export const SystemCreate = z.strictObject({
  name: Name,
  policies: Policies.optional(),
  returnUrl: ReturnUrl.optional(),
  messages: MessageSettings.optional(),
  sensitivity: Sensitivity.optional(),
  rules: z.array(Rule).max(100).optional(),
})
export const SystemUpdate = SystemCreate.omit({ name: true })

const Contact = z.string().max(320).nullable()
export const UserCreate = z.strictObject({
  authid: Name,
  displayName: z.string().max(256).nullable().optional(),
  email: Contact.optional(),
  phone: Contact.optional(),
  /** The language of the user's messages: en, de, or a tag the account has templates for. */
  locale: z.string().min(2).max(35).nullable().optional(),
  /** Flat attributes adaptive rules can test. */
  attributes: z.record(z.string().min(1).max(64), Scalar).optional(),
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
  name: z.string().min(1).max(200),
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
  returnOrigins: z.array(z.string().max(256)).max(50).optional(),
  messages: MessageSettings.optional(),
})

/** The first problem in a body, as one line naming the field. */
export function describeIssue(error: z.ZodError): { error: string; field: string } {
  const issue = error.issues[0]
  const field = issue?.path.map(String).join('.') || 'body'
  if (issue?.code === 'unrecognized_keys')
    return {
      field,
      error: issue.message.startsWith('unknown field')
        ? issue.message
        : `unknown field ${issue.keys.map((k) => `'${k}'`).join(', ')}`,
    }
  return { field, error: `${field}: ${issue?.message ?? 'is invalid'}` }
}

/** `POST /v1/admin/policy/simulate`: the same fields as start. */
export const SimulateBody = StartBody

/** `PUT /v1/admin/users/{authid}/pin`: set (or, with null, clear) the user's memorized PIN. */
export const PinSet = z.strictObject({ pin: z.string().max(32).nullable() })

/** `POST /v1/pin`: the user sets their memorized PIN within 5 minutes of an authenticated login. */
export const PinAfterLogin = z.strictObject({
  system: Name,
  authid: Name,
  challengeId: z.string().min(1).max(64),
  pin: z.string().max(32),
})
