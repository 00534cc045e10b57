import { z } from 'zod'
import { Instant, named } from './registry.js'

// What `POST /v1/start`, `/v1/check` and `/v1/pin` answer, and the refusals every route shares.

export const Method = z.enum(['passwordless', 'pin'])
export const Channel = z.enum(['email', 'sms'])
export const Layer = z.enum(['passwordless', 'pin', 'memorized_pin'])
export const DeliveryState = z.enum(['queued', 'sent', 'failed'])

export const SecurityReason = named(
  'SecurityReason',
  'Why a call was refused, for the API key holder only (never the end user); every reason but `wrong_pin` is final for the challenge.',
  z.enum([
    'unknown_system',
    'unknown_user',
    'not_assigned',
    'method_not_enabled',
    'user_disabled',
    'locked',
    'wrong_pin',
    'attempts_exhausted',
    'wrong_method',
    'no_pending_challenge',
    'policy_denied',
    'wrong_code',
    'invalid_code',
    'destination_refused',
    'invalid_key',
    'forbidden_scope',
  ]),
)

export const SecurityError = named(
  'SecurityError',
  'A refusal (403); `reason` is machine-readable. `error`, only when the request carried no `apikey` header, says where the key goes.',
  z.strictObject({
    result: z.literal('security error'),
    reason: SecurityReason,
    error: z.string().optional(),
  }),
)

export const RateLimited = named(
  'RateLimited',
  'Throttled (429: a key’s or account’s budget of calls, polls of one login, a send limit, a delay after failures): try again at `retryAfter`; the `Retry-After` header says the same in seconds.',
  z.strictObject({ result: z.literal('rate limited'), retryAfter: Instant }),
)

export const BadRequest = named(
  'BadRequest',
  'A request refused before the engine: malformed (400), too large (413) or of the wrong content type (415).',
  z.strictObject({ result: z.literal('bad request'), error: z.string(), field: z.string().optional() }),
)

export const SettingsRefused = named(
  'SettingsRefused',
  'A settings change refused (400): malformed, or looser than the operator’s ceiling; `error` names the ceiling (`ceilings.…`) and `field` the setting.',
  z.strictObject({ result: z.literal('bad request'), error: z.string(), field: z.string().optional() }),
)

export const NotFound = named(
  'NotFound',
  'No such route, system, user, key or account (404).',
  z.strictObject({ result: z.literal('not found'), error: z.string() }),
)

export const Conflict = named(
  'Conflict',
  'The change clashes with what exists (409): a name taken, a delivery not waiting.',
  z.strictObject({ result: z.literal('conflict'), error: z.string(), field: z.string().optional() }),
)

export const Started = named(
  'Started',
  'A challenge was issued (200). With uniform responses a refused start answers the same shape with a decoy challengeId (and matchCode), which check answers like a pending login until it expires.',
  z.strictObject({
    result: z.literal('success'),
    challengeId: z.string().optional(),
    expiresAt: Instant.optional(),
    method: Method.optional(),
    channel: Channel.optional(),
    delivery: DeliveryState.optional().describe(
      'Where the message stands: the provider took it (`sent`), refused it (`failed`, retried), or `queued`.',
    ),
    layers: z
      .array(Layer)
      .optional()
      .describe(
        'The layers the user must pass, in order: the method, then `memorized_pin` when a rule requires it.',
      ),
    matchCode: z
      .string()
      .optional()
      .describe("With number matching: show this code to the user; the link's page asks for it."),
  }),
)

export const StartAnswer = named(
  'StartAnswer',
  'What `POST /v1/start` answers, discriminated on `result`.',
  z.discriminatedUnion('result', [Started, SecurityError, RateLimited]),
)

export const Authenticated = named(
  'Authenticated',
  'The user proved who they are (200); answered once per challenge.',
  z.strictObject({ result: z.literal('authenticated'), challengeId: z.string() }),
)

export const Pending = named(
  'Pending',
  'The challenge waits for the user (202).',
  z.strictObject({
    result: z.literal('pending'),
    challengeId: z.string(),
    method: Method,
    channel: Channel.describe(
      'The channel carrying the secret now, so a host can tell its user where to look (after a fallback, the other one).',
    ),
    delivery: DeliveryState.nullable().describe(
      'Where the message stands; `failed` means the server is still retrying or gave up, so tell the user.',
    ),
    next: Layer.describe(
      'What the user must do next: open the link, type the one-time PIN, or their own PIN.',
    ),
  }),
)

export const Expired = named(
  'Expired',
  'The challenge expired before the user completed it (403).',
  z.strictObject({ result: z.literal('expired') }),
)

export const CheckRefused = named(
  'CheckRefused',
  'A check that ends the login (403): expired, or refused with a reason.',
  z.discriminatedUnion('result', [Expired, SecurityError]),
)

export const CheckAnswer = named(
  'CheckAnswer',
  'What `POST /v1/check` answers, discriminated on `result`.',
  z.discriminatedUnion('result', [Authenticated, Pending, Expired, SecurityError, RateLimited]),
)

export const Redeemed = named(
  'Redeemed',
  'Same device: the login a completion code completed (200).',
  z.strictObject({
    result: z.literal('authenticated'),
    system: z.string(),
    authid: z.string(),
    challengeId: z.string(),
  }),
)

export const Health = named(
  'Health',
  '`/healthz`: the process answers.',
  z.strictObject({ status: z.literal('ok') }),
)

export const Readiness = named(
  'Readiness',
  '`/readyz`: 200 when the database answers and no migration is pending, 503 otherwise.',
  z.union([
    z.strictObject({ status: z.literal('ok'), migrations: z.literal('unknown').optional() }),
    z.strictObject({
      status: z.literal('unavailable'),
      problem: z.enum(['migrations pending', 'database unreachable']),
      pending: z.array(z.string()).optional(),
    }),
  ]),
)
