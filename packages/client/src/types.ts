/** How a user proves who they are. */
export type Method = 'passwordless' | 'pin'

/** Where a link or one-time PIN is delivered. */
export type Channel = 'email' | 'sms'

/** Why a call was refused; every reason but `wrong_pin` is final for the challenge. */
export type SecurityReason =
  | 'unknown_system'
  | 'unknown_user'
  | 'not_assigned'
  | 'method_not_enabled'
  | 'user_disabled'
  | 'locked'
  | 'wrong_pin'
  | 'attempts_exhausted'
  | 'wrong_method'
  | 'no_pending_challenge'
  | 'policy_denied'
  | 'wrong_code'
  | 'invalid_code'
  | 'destination_refused'
  | 'invalid_key'
  | 'forbidden_scope'

/** A flat map of request attributes (IP, user agent, …) passed to `start`. */
export type RequestContext = Readonly<Record<string, string | number | boolean>>

/** The `fetch` the client calls: the global one, or any function of that shape. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>

/** Waits `ms`, rejecting with the signal's reason as soon as it aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>

/** Per-call options. */
export interface CallOptions {
  readonly signal?: AbortSignal
}

/** What `start` takes. */
export interface StartInput {
  readonly system: string
  readonly authid: string
  readonly context?: RequestContext
  /**
   * Same device: one of the system's `policies.passwordless.returnUrls`, exactly. The confirmed link
   * sends its browser there with `?code=` for `redeem`.
   */
  readonly returnUrl?: string
}

/** What `check` takes; `pin` is what the user typed, for the `pin` method. */
export interface CheckInput {
  readonly system: string
  readonly authid: string
  readonly pin?: string | number
  /** The challenge to answer for (from start); a superseded one answers `no_pending_challenge`. */
  readonly challengeId?: string
  /** Where the user's request came from (`ip`, `userAgent`), for the audit of the outcome. */
  readonly context?: RequestContext
}

/** A challenge was issued. With uniform responses the server may answer only `result`. */
export interface StartedAnswer {
  readonly result: 'success'
  readonly challengeId?: string
  readonly expiresAt?: Date
  readonly method?: Method
  readonly channel?: Channel
  /** Where the message stands: the provider took it, refused it (being retried), or it is queued. */
  readonly delivery?: DeliveryState
  /** The layers the user must pass, in order (adaptive policy): the method, then `memorized_pin`. */
  readonly layers?: readonly Layer[]
  /** With number matching: show this code to the user; the link's page asks for it. */
  readonly matchCode?: string
}

/** One step of a login: the link, the one-time PIN, or the PIN the user knows. */
export type Layer = Method | 'memorized_pin'

/** What the server tells about a challenge's message while it waits. */
export type DeliveryState = 'queued' | 'sent' | 'failed'

/** A refusal; `reason` is for the API key holder only, never for the end user. */
export interface SecurityErrorAnswer {
  readonly result: 'security error'
  readonly reason: SecurityReason
}

/** Throttled: try again at `retryAfter`. */
export interface RateLimitedAnswer {
  readonly result: 'rate limited'
  readonly retryAfter: Date
}

/** The user proved who they are; answered once per challenge. */
export interface AuthenticatedAnswer {
  readonly result: 'authenticated'
  readonly challengeId: string
}

/** The challenge is waiting for the user (a link not yet confirmed). */
export interface PendingAnswer {
  readonly result: 'pending'
  readonly challengeId: string
  readonly method: Method
  /** The channel carrying the secret now (after a fallback, the other one): where the user should look. */
  readonly channel?: Channel
  /** Where the message stands; `failed` means the server is still retrying or gave up, so tell the user. */
  readonly delivery?: DeliveryState
  /** What the user must do next: open the link, type the one-time PIN, or type their own PIN. */
  readonly next?: Layer
}

/** The challenge expired before the user completed it. */
export interface ExpiredAnswer {
  readonly result: 'expired'
}

/** What `start` answers, discriminated on `result`. */
export type StartAnswer = StartedAnswer | SecurityErrorAnswer | RateLimitedAnswer

/** What `check` answers, discriminated on `result`. */
export type CheckAnswer =
  | AuthenticatedAnswer
  | PendingAnswer
  | ExpiredAnswer
  | SecurityErrorAnswer
  | RateLimitedAnswer

/** Same device: the login a completion code completed (`redeem`). */
export interface RedeemedAnswer {
  readonly result: 'authenticated'
  readonly system: string
  readonly authid: string
  readonly challengeId: string
}

/** What `redeem` answers: the login, or `invalid_code` (unknown, used, expired, or another account's). */
export type RedeemAnswer = RedeemedAnswer | SecurityErrorAnswer

/** How `authenticate` ends: start's refusal, or check's final answer. */
export type AuthenticateAnswer = AuthenticatedAnswer | ExpiredAnswer | SecurityErrorAnswer | RateLimitedAnswer

/** Settings of one login method on one system. */
export interface MethodPolicy {
  readonly enabled: boolean
  readonly channels: readonly Channel[]
  readonly lifetimeSeconds: number
}

/** The PIN method's settings. */
export interface PinPolicy extends MethodPolicy {
  readonly pinLength: number
  readonly attempts: number
}

/** A system's policies, as the server resolved them. */
export interface SystemPolicies {
  readonly passwordless: MethodPolicy & { readonly returnUrls?: readonly string[] }
  readonly pin: PinPolicy
}

/** Policies as a caller writes them: every field optional, merged over the current ones. */
export interface PoliciesInput {
  readonly passwordless?: Partial<MethodPolicy> & { readonly returnUrls?: readonly string[] }
  readonly pin?: Partial<PinPolicy>
}

/** An application users sign in to. Dates are ISO 8601 strings, as sent. */
export interface System {
  readonly id: string
  readonly name: string
  readonly policies: SystemPolicies
  readonly createdAt: string
  readonly updatedAt: string
}

/** What `admin.systems.create` takes. */
export interface SystemInput {
  readonly name: string
  readonly policies?: PoliciesInput
}

/** `locked` is cleared only by `admin.users.unlock`. */
export type UserStatus = 'active' | 'disabled' | 'locked'

/** A user. Dates are ISO 8601 strings, as sent. */
export interface User {
  readonly id: string
  readonly authid: string
  readonly displayName: string | null
  readonly email: string | null
  readonly phone: string | null
  readonly status: UserStatus
  readonly createdAt: string
  readonly updatedAt: string
}

/** What `admin.users.create` takes. */
export interface UserInput {
  readonly authid: string
  readonly displayName?: string | null
  readonly email?: string | null
  readonly phone?: string | null
  readonly status?: 'active' | 'disabled'
}

/** What `admin.users.update` takes; `null` removes a contact point or the display name. */
export type UserChanges = Partial<Omit<UserInput, 'authid'>>

/** One page of users; pass `next` as `after` for the following page. */
export interface UserPage {
  readonly users: User[]
  readonly next: string | null
}

/** One system a user may access, and how; `channel` null takes the policy's first usable one. */
export interface Assignment {
  readonly system: string
  readonly method: Method
  readonly channel: Channel | null
}

/** What `admin.users.assign` takes, one per system. */
export interface AssignmentInput {
  readonly system: string
  readonly method: Method
  readonly channel?: Channel | null
}

/** What an API key may do. */
export type Scope = 'auth' | 'admin'

/** An API key as listed: never the key itself. Dates are ISO 8601 strings, as sent. */
export interface ApiKeyInfo {
  readonly id: string
  readonly name: string
  /** Enough of the key to tell keys apart (`fsk_3fQ9aZ`). */
  readonly prefix: string
  readonly scopes: readonly Scope[]
  readonly createdAt: string
  readonly lastUsedAt: string | null
  readonly expiresAt: string | null
  readonly revokedAt: string | null
}

/** A key just created: `key` is shown this once. */
export interface CreatedApiKey extends ApiKeyInfo {
  readonly key: string
}

/** What `admin.keys.create` takes. */
export interface ApiKeyInput {
  readonly name: string
  readonly scopes: readonly Scope[]
  /** A Date, or an ISO 8601 string with an offset; omitted, the key never expires. */
  readonly expiresAt?: Date | string
}

/** One audit event. */
export interface AuditEvent {
  readonly accountId: string
  readonly seq: number
  /** When it happened, in milliseconds since the Unix epoch. */
  readonly at: number
  /** `challenge.started`, `challenge.checked`, `link.confirmed`, `system.created`, … */
  readonly type: string
  readonly actor: string
  readonly system: string | null
  readonly authid: string | null
  readonly challengeId: string | null
  readonly outcome: string
  readonly reason: SecurityReason | null
  readonly ip: string | null
  readonly userAgent: string | null
  readonly details: Readonly<Record<string, unknown>> | null
  /** The previous event's MAC and this one's, chaining the audit. */
  readonly prevMac: string | null
  readonly mac: string | null
}

/** Filters for `admin.audit.list`; `after` is the previous page's `next`. */
export interface AuditFilters {
  readonly since?: Date | string
  readonly until?: Date | string
  readonly system?: string
  readonly authid?: string
  readonly type?: string
  readonly outcome?: string
  readonly after?: number
  readonly limit?: number
}

/** One page of audit events; `next` is null on the last page. */
export interface AuditPage {
  readonly events: AuditEvent[]
  readonly next: number | null
}
