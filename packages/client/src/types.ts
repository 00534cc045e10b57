import type * as wire from './contract-types.js'

// The client's types: the contract's shapes (generated into `contract-types.ts` from
// `@flexsecure/http/contract`), named for callers, plus what only the client has (its options, and
// `start`'s and a 429's dates decoded as `Date`). Nothing here restates a shape the server answers.

export type {
  Account,
  AccountSettings,
  ApiKeyInfo,
  Assignment,
  AuditEvent,
  AuditPage,
  AuditSearchPage,
  AuditVerdict,
  ConsoleGrant,
  CreatedAccount,
  CreatedApiKey,
  Delivery,
  DeliveryPage,
  LoginStats,
  MessagePreview,
  Overview,
  Readiness,
  SecurityReason,
  Simulation,
  System,
  SystemPolicies,
  User,
  UserPage,
  UserSearchPage,
} from './contract-types.js'

/** How a user proves who they are. */
export type Method = wire.Pending['method']
/** Where a link or one-time PIN is delivered. */
export type Channel = NonNullable<wire.Assignment['channel']>
/** One step of a login: the link, the one-time PIN, or the PIN the user knows. */
export type Layer = wire.Pending['next']
/** What the server tells about a challenge's message while it waits. */
export type DeliveryState = NonNullable<wire.Pending['delivery']>
/** `locked` is cleared only by `admin.users.unlock`. */
export type UserStatus = wire.User['status']
/** What an API key may do. */
export type Scope = wire.ApiKeyInfo['scopes'][number]

/** A flat map of request attributes (IP, user agent, …) passed to `start`. */
export type RequestContext = Readonly<NonNullable<wire.StartRequest['context']>>

/** The `fetch` the client calls: the global one, or any function of that shape. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>

/** Waits `ms`, rejecting with the signal's reason as soon as it aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>

/** Per-call options. */
export interface CallOptions {
  readonly signal?: AbortSignal
}

/** What `start` takes. */
export type StartInput = Readonly<wire.StartRequest>
/** What `check` takes; `pin` is what the user typed, for the `pin` method. */
export type CheckInput = Readonly<wire.CheckRequest>

/** A challenge was issued; `expiresAt` decoded. With uniform responses the server answers only `result`. */
export type StartedAnswer = Readonly<Omit<wire.Started, 'expiresAt'> & { expiresAt?: Date }>
/** A refusal; `reason` is for the API key holder only, never for the end user. */
export type SecurityErrorAnswer = Readonly<wire.SecurityError>
/** Throttled: try again at `retryAfter`. */
export type RateLimitedAnswer = Readonly<Omit<wire.RateLimited, 'retryAfter'> & { retryAfter: Date }>
/** The user proved who they are; answered once per challenge. */
export type AuthenticatedAnswer = Readonly<wire.Authenticated>
/** The challenge is waiting for the user (a link not yet confirmed, a PIN not yet typed). */
export type PendingAnswer = Readonly<wire.Pending>
/** The challenge expired before the user completed it. */
export type ExpiredAnswer = Readonly<wire.Expired>

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
export type RedeemedAnswer = Readonly<wire.Redeemed>
/** What `redeem` answers: the login, or `invalid_code` (unknown, used, expired, or another account's). */
export type RedeemAnswer = RedeemedAnswer | SecurityErrorAnswer

/** How `authenticate` ends: start's refusal, or check's final answer. */
export type AuthenticateAnswer = AuthenticatedAnswer | ExpiredAnswer | SecurityErrorAnswer | RateLimitedAnswer

/** What `admin.systems.create` takes. */
export type SystemInput = Readonly<wire.SystemCreateRequest>
/** What `admin.systems.update` takes: policies merged over the current ones, the rest replaced. */
export type SystemChanges = Readonly<wire.SystemUpdateRequest>
/** Policies as a caller writes them: every field optional, merged over the current ones. */
export type PoliciesInput = NonNullable<wire.SystemCreateRequest['policies']>
/** What `admin.users.create` takes. */
export type UserInput = Readonly<wire.UserCreateRequest>
/** What `admin.users.update` takes; `null` removes a contact point, the display name or the locale. */
export type UserChanges = Readonly<wire.UserUpdateRequest>
/** What `admin.users.assign` takes, one per system. */
export type AssignmentInput = Readonly<wire.AssignRequest['assignments'][number]>
/** What `admin.users.setPinAfterLogin` takes (`POST /v1/pin`). */
export type PinAfterLoginInput = Readonly<wire.PinAfterLoginRequest>
/** What `admin.keys.create` takes; `expiresAt` a Date or an ISO 8601 string with an offset. */
export type ApiKeyInput = Readonly<Omit<wire.KeyCreateRequest, 'expiresAt'> & { expiresAt?: Date | string }>
/** What `admin.settings.update` takes; unknown keys are refused by name. */
export type SettingsChanges = Readonly<wire.SettingsUpdateRequest>
/** What `admin.messages.preview` takes. */
export type PreviewInput = Readonly<wire.PreviewRequest>
/** What `admin.console.grant` takes besides the authid. */
export type ConsoleGrantInput = Readonly<wire.ConsoleGrantRequest>

/** A date filter: a Date, or an ISO 8601 string. */
type When = Date | string

/** Filters for `admin.audit.list` and `export`; `after` is the previous page's `next`. */
export interface AuditFilters {
  readonly since?: When
  readonly until?: When
  readonly system?: string
  readonly authid?: string
  readonly type?: string
  readonly outcome?: string
  readonly after?: number
  readonly limit?: number
}

/** Filters for `admin.audit.search` (newest first); `before` is the previous page's `next`. */
export interface AuditSearchFilters extends Omit<AuditFilters, 'after'> {
  readonly before?: number
  /** Events to read at most for this page, 1 to 200,000. */
  readonly scan?: number
}

/** What `admin.users.search` takes. */
export interface UserSearchOptions {
  /** The start of the field to match. */
  readonly query?: string
  readonly by?: 'authid' | 'displayName' | 'email' | 'phone'
  readonly status?: UserStatus
  readonly after?: string
  readonly limit?: number
}

/** What `admin.deliveries.list` takes. */
export interface DeliveryListOptions {
  readonly queue?: 'waiting' | 'abandoned'
  readonly after?: string
  readonly limit?: number
}

/** What `admin.stats.logins` takes. */
export interface LoginStatsOptions {
  readonly bucket?: wire.LoginStats['bucket']
  readonly until?: When
  /** Buckets, 1 to 744. */
  readonly count?: number
  readonly system?: string
}
