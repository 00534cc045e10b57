// Generated from @flexsecure/http/contract by `pnpm --filter @flexsecure/client generate`; do not edit.
// The shapes of FlexSecure's HTTP API as they travel: dates are ISO 8601 strings.

/**
 * Why a call was refused, for the API key holder only (never the end user); every reason but `wrong_pin` is final for the challenge.
 */
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
/**
 * What `POST /v1/start` answers, discriminated on `result`.
 */
export type StartAnswer = Started | SecurityError | RateLimited
/**
 * A check that ends the login (403): expired, or refused with a reason.
 */
export type CheckRefused = Expired | SecurityError
/**
 * What `POST /v1/check` answers, discriminated on `result`.
 */
export type CheckAnswer = Authenticated | Pending | Expired | SecurityError | RateLimited
/**
 * `/readyz`: 200 when the database answers and no migration is pending, 503 otherwise.
 */
export type Readiness =
  | {
      status: 'ok'
      migrations?: 'unknown'
    }
  | {
      status: 'unavailable'
      problem: 'migrations pending' | 'database unreachable'
      pending?: string[]
    }
/**
 * The decision a start would take, with the rules that matched; or why it would be refused or throttled.
 */
export type Simulation =
  | {
      result: 'decision'
      decision: {
        denied: boolean
        layers: ('passwordless' | 'pin' | 'memorized_pin')[]
        channel: ('email' | 'sms') | null
        lifetimeSeconds: number
        attempts: number
        numberMatching: boolean
        sensitivity: 'low' | 'medium' | 'high'
        matched: {
          rule: string
          because: string[]
        }[]
        reason: string | null
      }
    }
  | {
      result: 'security error'
      reason: SecurityReason
    }
  | RateLimited
/**
 * Whether the audit chain verifies, or the first sequence number that does not.
 */
export type AuditVerdict =
  | {
      ok: true
      events: number
      lastSeq: number
    }
  | {
      ok: false
      firstBadSeq: number
      problem: string
    }

/**
 * A refusal (403); `reason` is machine-readable. `error`, only when the request carried no `apikey` header, says where the key goes.
 */
export interface SecurityError {
  result: 'security error'
  reason: SecurityReason
  error?: string
}
/**
 * Throttled (429: a key’s or account’s budget of calls, polls of one login, a send limit, a delay after failures): try again at `retryAfter`; the `Retry-After` header says the same in seconds.
 */
export interface RateLimited {
  result: 'rate limited'
  retryAfter: string
}
/**
 * A request refused before the engine: malformed (400), too large (413) or of the wrong content type (415).
 */
export interface BadRequest {
  result: 'bad request'
  error: string
  field?: string
}
/**
 * A settings change refused (400): malformed, or looser than the operator’s ceiling; `error` names the ceiling (`ceilings.…`) and `field` the setting.
 */
export interface SettingsRefused {
  result: 'bad request'
  error: string
  field?: string
}
/**
 * No such route, system, user, key or account (404).
 */
export interface NotFound {
  result: 'not found'
  error: string
}
/**
 * The change clashes with what exists (409): a name taken, a delivery not waiting.
 */
export interface Conflict {
  result: 'conflict'
  error: string
  field?: string
}
/**
 * A challenge was issued (200). With uniform responses a refused start answers the same shape with a decoy challengeId (and matchCode), which check answers like a pending login until it expires.
 */
export interface Started {
  result: 'success'
  challengeId?: string
  expiresAt?: string
  method?: 'passwordless' | 'pin'
  channel?: 'email' | 'sms'
  /**
   * Where the message stands: the provider took it (`sent`), refused it (`failed`, retried), or `queued`.
   */
  delivery?: 'queued' | 'sent' | 'failed'
  /**
   * The layers the user must pass, in order: the method, then `memorized_pin` when a rule requires it.
   */
  layers?: ('passwordless' | 'pin' | 'memorized_pin')[]
  /**
   * With number matching: show this code to the user; the link's page asks for it.
   */
  matchCode?: string
}
/**
 * The user proved who they are (200); answered once per challenge.
 */
export interface Authenticated {
  result: 'authenticated'
  challengeId: string
}
/**
 * The challenge waits for the user (202).
 */
export interface Pending {
  result: 'pending'
  challengeId: string
  method: 'passwordless' | 'pin'
  /**
   * The channel carrying the secret now, so a host can tell its user where to look (after a fallback, the other one).
   */
  channel: 'email' | 'sms'
  /**
   * Where the message stands; `failed` means the server is still retrying or gave up, so tell the user.
   */
  delivery: ('queued' | 'sent' | 'failed') | null
  /**
   * What the user must do next: open the link, type the one-time PIN, or their own PIN.
   */
  next: 'passwordless' | 'pin' | 'memorized_pin'
}
/**
 * The challenge expired before the user completed it (403).
 */
export interface Expired {
  result: 'expired'
}
/**
 * Same device: the login a completion code completed (200).
 */
export interface Redeemed {
  result: 'authenticated'
  system: string
  authid: string
  challengeId: string
}
/**
 * `/healthz`: the process answers.
 */
export interface Health {
  status: 'ok'
}
/**
 * A system's login methods, as the server resolved them.
 */
export interface SystemPolicies {
  passwordless: {
    enabled: boolean
    /**
     * In order of preference; the first the user can receive is used.
     */
    channels: ('email' | 'sms')[]
    lifetimeSeconds: number
    /**
     * Same device: the exact URLs a start may name as `returnUrl`.
     */
    returnUrls?: string[]
  }
  pin: {
    enabled: boolean
    /**
     * In order of preference; the first the user can receive is used.
     */
    channels: ('email' | 'sms')[]
    lifetimeSeconds: number
    pinLength: number
    attempts: number
  }
}
/**
 * An application users sign in to.
 */
export interface System {
  id: string
  name: string
  policies: SystemPolicies
  returnUrl: string | null
  messages: {
    appName?: string
    senderName?: string
    webOtpDomain?: string
    templates?: {
      [k: string]: {
        emailLinkSubject?: string
        emailLinkText?: string
        emailLinkButton?: string
        emailPinSubject?: string
        emailPinText?: string
        smsPin?: string
        smsLink?: string
      }
    }
  } | null
  sensitivity: 'low' | 'medium' | 'high'
  /**
   * The adaptive rules, in order.
   */
  rules: {
    name: string
    when?: {
      /**
       * @minItems 1
       * @maxItems 100
       */
      ipIn?: [string, ...string[]]
      /**
       * @minItems 1
       * @maxItems 100
       */
      ipNotIn?: [string, ...string[]]
      timeIn?: {
        timeZone: string
        /**
         * @minItems 1
         * @maxItems 7
         */
        days?:
          | ['sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat']
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
        from?: string
        to?: string
      }
      timeNotIn?: {
        timeZone: string
        /**
         * @minItems 1
         * @maxItems 7
         */
        days?:
          | ['sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat']
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
        from?: string
        to?: string
      }
      sensitivityAtLeast?: 'low' | 'medium' | 'high'
      /**
       * @minItems 1
       * @maxItems 100
       */
      resource?: [string, ...string[]]
      /**
       * @minItems 1
       * @maxItems 100
       */
      action?: [string, ...string[]]
      newDevice?: boolean
      failuresAtLeast?: number
      daysSinceLastSuccessAtLeast?: number
      userAttributes?: {
        [k: string]: string | number | boolean | (string | number | boolean)[]
      }
      /**
       * @minItems 1
       * @maxItems 100
       */
      custom?: [string, ...string[]]
    }
    effect: {
      deny?: true
      requireMemorizedPin?: true
      channel?: 'email' | 'sms'
      maxLifetimeSeconds?: number
      maxAttempts?: number
      numberMatching?: true
    }
  }[]
  /**
   * How often the rules changed (0: never set).
   */
  rulesVersion: number
  rulesUpdatedAt: string | null
  rulesUpdatedBy: string | null
  createdAt: string
  updatedAt: string
}
/**
 * Every system.
 */
export interface SystemList {
  systems: System[]
}
/**
 * A user; `locked` is cleared only by an unlock.
 */
export interface User {
  id: string
  authid: string
  displayName: string | null
  email: string | null
  phone: string | null
  locale: string | null
  /**
   * Flat attributes adaptive rules can test.
   */
  attributes: {
    [k: string]: string | number | boolean
  }
  /**
   * Whether the user has a memorized PIN (never the PIN).
   */
  hasMemorizedPin: boolean
  status: 'active' | 'disabled' | 'locked'
  createdAt: string
  updatedAt: string
}
/**
 * One page of users; pass `next` as `after` for the following page.
 */
export interface UserPage {
  users: User[]
  next: string | null
}
/**
 * What an unlock did.
 */
export interface Unlocked {
  wasLocked: boolean
}
/**
 * One system a user may access, and how; `channel` null takes the policy’s first usable one.
 */
export interface Assignment {
  system: string
  method: 'passwordless' | 'pin'
  channel: ('email' | 'sms') | null
}
/**
 * A user’s assignments.
 */
export interface AssignmentList {
  assignments: Assignment[]
}
/**
 * An API key as listed: never the key itself.
 */
export interface ApiKeyInfo {
  id: string
  name: string
  /**
   * Enough of the key to tell keys apart (`fsk_3fQ9aZ`).
   */
  prefix: string
  scopes: ('auth' | 'admin')[]
  createdAt: string
  lastUsedAt: string | null
  expiresAt: string | null
  revokedAt: string | null
}
/**
 * A key just created: `key` is shown this once.
 */
export interface CreatedApiKey {
  id: string
  name: string
  /**
   * Enough of the key to tell keys apart (`fsk_3fQ9aZ`).
   */
  prefix: string
  scopes: ('auth' | 'admin')[]
  createdAt: string
  lastUsedAt: string | null
  expiresAt: string | null
  revokedAt: string | null
  key: string
}
/**
 * Every API key.
 */
export interface ApiKeyList {
  keys: ApiKeyInfo[]
}
/**
 * The account’s settings: uniform responses, send limits, lockout, audit retention, return origins, messages.
 */
export interface AccountSettings {
  uniformResponses: boolean
  sendLimits: {
    perUserPerHour: number
    perDestinationPerHour: number
    perApiKeyPerMinute: number
    perAccountPerDay: number
    resendCooldownSeconds: number
  }
  lockout: {
    freeFailures: number
    baseDelaySeconds: number
    maxDelaySeconds: number
    lockAfter: number
  }
  auditRetentionDays: number | null
  returnOrigins: string[]
  messages?: {
    appName?: string
    senderName?: string
    webOtpDomain?: string
    templates?: {
      [k: string]: {
        emailLinkSubject?: string
        emailLinkText?: string
        emailLinkButton?: string
        emailPinSubject?: string
        emailPinText?: string
        smsPin?: string
        smsLink?: string
      }
    }
  }
}
/**
 * One audit event, chained to the one before by its MAC.
 */
export interface AuditEvent {
  accountId: string
  seq: number
  /**
   * When it happened, in milliseconds since the Unix epoch.
   */
  at: number
  /**
   * `challenge.started`, `challenge.checked`, `link.confirmed`, `system.created`, …
   */
  type: string
  actor: string
  system: string | null
  authid: string | null
  challengeId: string | null
  outcome: string
  reason: SecurityReason | null
  ip: string | null
  userAgent: string | null
  details: {
    [k: string]: unknown
  } | null
  prevMac: string | null
  mac: string | null
}
/**
 * Audit events by ascending sequence number; `next` (null on the last page) is the following page’s `after`.
 */
export interface AuditPage {
  events: AuditEvent[]
  next: number | null
}
/**
 * One page of matching users; pass `next` as `after` for the following page.
 */
export interface UserSearchPage {
  users: User[]
  next: string | null
}
/**
 * A message in the outbox as administrators see it: the destination masked, never the message.
 */
export interface Delivery {
  id: string
  accountId: string
  challengeId: string
  channel: 'email' | 'sms'
  destination: string
  status: 'queued' | 'failed' | 'sent' | 'abandoned' | 'cancelled'
  attempts: number
  nextAttemptAt: string
  claimedUntil: string | null
  providerId: string | null
  lastError: string | null
  createdAt: string
  updatedAt: string
  expiresAt: string
  fallbackOf: string | null
  system: string | null
  authid: string | null
}
/**
 * One page of the outbox; pass `next` as `after` for the following page.
 */
export interface DeliveryPage {
  deliveries: Delivery[]
  next: string | null
}
/**
 * The delivery goes at the next outbox run.
 */
export interface Requeued {
  requeued: true
}
/**
 * Logins per hour or day, succeeded and failed, and totals per system.
 */
export interface LoginStats {
  bucket: 'hour' | 'day'
  buckets: {
    start: string
    succeeded: number
    failed: number
  }[]
  systems: {
    system: string
    succeeded: number
    failed: number
  }[]
  /**
   * Audit events not yet counted (the count catches up in batches).
   */
  behind: number
}
/**
 * The numbers an administrator looks at first.
 */
export interface Overview {
  pendingChallenges: number
  deliveries: {
    waiting: number
    abandonedLastDay: number
  }
  lockedUsers: number
  audit: {
    lastSeq: number
    lastVerification:
      | (AuditVerdict & {
          at: string
        })
      | null
  }
}
/**
 * Audit events newest first; `next` is the following page’s `before`, `scanned` the window read.
 */
export interface AuditSearchPage {
  events: AuditEvent[]
  next: number | null
  scanned: {
    from: number
    to: number
  }
}
/**
 * A message as a user would get it, with a sample link or PIN.
 */
export interface MessagePreview {
  channel: 'email' | 'sms'
  to: string
  subject?: string
  text: string
  html?: string
  kind: 'link' | 'pin'
  locale: string
  idempotencyKey: string
  fromName?: string
  accountId?: string
}
/**
 * The user’s console role now, and whether the grant created the user.
 */
export interface ConsoleGrant {
  role: ('admin' | 'viewer') | null
  createdUser: boolean
}
/**
 * A tenant.
 */
export interface Account {
  id: string
  name: string
  createdAt: string
}
/**
 * Every account.
 */
export interface AccountList {
  accounts: Account[]
}
/**
 * A new account with its first admin key, shown this once.
 */
export interface CreatedAccount {
  id: string
  name: string
  createdAt: string
  adminKey: string
  adminKeyId: string
}
/**
 * Who signs in where.
 */
export interface StartRequest {
  system: string
  authid: string
  /**
   * At most 32 keys and 4096 bytes as JSON (S35).
   */
  context?: {
    [k: string]: string | number | boolean
  }
  returnUrl?: string
}
/**
 * Same device: the completion code the return URL received.
 */
export interface RedeemRequest {
  code: string
}
/**
 * A poll, or the PIN the user typed.
 */
export interface CheckRequest {
  system: string
  authid: string
  pin?: string | number
  challengeId?: string
  /**
   * At most 32 keys and 4096 bytes as JSON (S35).
   */
  context?: {
    [k: string]: string | number | boolean
  }
}
/**
 * The memorized PIN a user sets within 5 minutes of an authenticated login.
 */
export interface PinAfterLoginRequest {
  system: string
  authid: string
  challengeId: string
  pin: string
}
/**
 * A new system.
 */
export interface SystemCreateRequest {
  name: string
  policies?: {
    passwordless?: {
      enabled?: boolean
      /**
       * @minItems 1
       * @maxItems 2
       */
      channels?: ['email' | 'sms'] | ['email' | 'sms', 'email' | 'sms']
      lifetimeSeconds?: number
      /**
       * @maxItems 20
       */
      returnUrls?:
        | []
        | [string]
        | [string, string]
        | [string, string, string]
        | [string, string, string, string]
        | [string, string, string, string, string]
        | [string, string, string, string, string, string]
        | [string, string, string, string, string, string, string]
        | [string, string, string, string, string, string, string, string]
        | [string, string, string, string, string, string, string, string, string]
        | [string, string, string, string, string, string, string, string, string, string]
        | [string, string, string, string, string, string, string, string, string, string, string]
        | [string, string, string, string, string, string, string, string, string, string, string, string]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
    }
    pin?: {
      enabled?: boolean
      /**
       * @minItems 1
       * @maxItems 2
       */
      channels?: ['email' | 'sms'] | ['email' | 'sms', 'email' | 'sms']
      lifetimeSeconds?: number
      pinLength?: number
      attempts?: number
    }
  }
  returnUrl?: string | null
  messages?: {
    appName?: string
    senderName?: string
    webOtpDomain?: string
    templates?: {
      [k: string]: {
        emailLinkSubject?: string
        emailLinkText?: string
        emailLinkButton?: string
        emailPinSubject?: string
        emailPinText?: string
        smsPin?: string
        smsLink?: string
      }
    }
  } | null
  sensitivity?: 'low' | 'medium' | 'high'
  /**
   * @maxItems 100
   */
  rules?: {
    name: string
    when?: {
      /**
       * @minItems 1
       * @maxItems 100
       */
      ipIn?: [string, ...string[]]
      /**
       * @minItems 1
       * @maxItems 100
       */
      ipNotIn?: [string, ...string[]]
      timeIn?: {
        timeZone: string
        /**
         * @minItems 1
         * @maxItems 7
         */
        days?:
          | ['sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat']
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
        from?: string
        to?: string
      }
      timeNotIn?: {
        timeZone: string
        /**
         * @minItems 1
         * @maxItems 7
         */
        days?:
          | ['sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat']
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
        from?: string
        to?: string
      }
      sensitivityAtLeast?: 'low' | 'medium' | 'high'
      /**
       * @minItems 1
       * @maxItems 100
       */
      resource?: [string, ...string[]]
      /**
       * @minItems 1
       * @maxItems 100
       */
      action?: [string, ...string[]]
      newDevice?: boolean
      failuresAtLeast?: number
      daysSinceLastSuccessAtLeast?: number
      userAttributes?: {
        [k: string]: string | number | boolean | (string | number | boolean)[]
      }
      /**
       * @minItems 1
       * @maxItems 100
       */
      custom?: [string, ...string[]]
    }
    effect: {
      deny?: true
      requireMemorizedPin?: true
      channel?: 'email' | 'sms'
      maxLifetimeSeconds?: number
      maxAttempts?: number
      numberMatching?: true
    }
  }[]
}
/**
 * Changes to a system; `policies` merge over the current ones.
 */
export interface SystemUpdateRequest {
  policies?: {
    passwordless?: {
      enabled?: boolean
      /**
       * @minItems 1
       * @maxItems 2
       */
      channels?: ['email' | 'sms'] | ['email' | 'sms', 'email' | 'sms']
      lifetimeSeconds?: number
      /**
       * @maxItems 20
       */
      returnUrls?:
        | []
        | [string]
        | [string, string]
        | [string, string, string]
        | [string, string, string, string]
        | [string, string, string, string, string]
        | [string, string, string, string, string, string]
        | [string, string, string, string, string, string, string]
        | [string, string, string, string, string, string, string, string]
        | [string, string, string, string, string, string, string, string, string]
        | [string, string, string, string, string, string, string, string, string, string]
        | [string, string, string, string, string, string, string, string, string, string, string]
        | [string, string, string, string, string, string, string, string, string, string, string, string]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
        | [
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
            string,
          ]
    }
    pin?: {
      enabled?: boolean
      /**
       * @minItems 1
       * @maxItems 2
       */
      channels?: ['email' | 'sms'] | ['email' | 'sms', 'email' | 'sms']
      lifetimeSeconds?: number
      pinLength?: number
      attempts?: number
    }
  }
  returnUrl?: string | null
  messages?: {
    appName?: string
    senderName?: string
    webOtpDomain?: string
    templates?: {
      [k: string]: {
        emailLinkSubject?: string
        emailLinkText?: string
        emailLinkButton?: string
        emailPinSubject?: string
        emailPinText?: string
        smsPin?: string
        smsLink?: string
      }
    }
  } | null
  sensitivity?: 'low' | 'medium' | 'high'
  /**
   * @maxItems 100
   */
  rules?: {
    name: string
    when?: {
      /**
       * @minItems 1
       * @maxItems 100
       */
      ipIn?: [string, ...string[]]
      /**
       * @minItems 1
       * @maxItems 100
       */
      ipNotIn?: [string, ...string[]]
      timeIn?: {
        timeZone: string
        /**
         * @minItems 1
         * @maxItems 7
         */
        days?:
          | ['sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat']
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
        from?: string
        to?: string
      }
      timeNotIn?: {
        timeZone: string
        /**
         * @minItems 1
         * @maxItems 7
         */
        days?:
          | ['sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat']
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
          | [
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
              'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat',
            ]
        from?: string
        to?: string
      }
      sensitivityAtLeast?: 'low' | 'medium' | 'high'
      /**
       * @minItems 1
       * @maxItems 100
       */
      resource?: [string, ...string[]]
      /**
       * @minItems 1
       * @maxItems 100
       */
      action?: [string, ...string[]]
      newDevice?: boolean
      failuresAtLeast?: number
      daysSinceLastSuccessAtLeast?: number
      userAttributes?: {
        [k: string]: string | number | boolean | (string | number | boolean)[]
      }
      /**
       * @minItems 1
       * @maxItems 100
       */
      custom?: [string, ...string[]]
    }
    effect: {
      deny?: true
      requireMemorizedPin?: true
      channel?: 'email' | 'sms'
      maxLifetimeSeconds?: number
      maxAttempts?: number
      numberMatching?: true
    }
  }[]
}
/**
 * A new user.
 */
export interface UserCreateRequest {
  authid: string
  displayName?: string | null
  email?: string | null
  phone?: string | null
  locale?: string | null
  attributes?: {
    [k: string]: string | number | boolean
  }
  status?: 'active' | 'disabled'
}
/**
 * Changes to a user; `null` removes a contact point, the display name or the locale.
 */
export interface UserUpdateRequest {
  displayName?: string | null
  email?: string | null
  phone?: string | null
  locale?: string | null
  attributes?: {
    [k: string]: string | number | boolean
  }
  status?: 'active' | 'disabled'
}
/**
 * Systems to assign at once.
 */
export interface AssignRequest {
  /**
   * @minItems 1
   * @maxItems 100
   */
  assignments: [
    {
      system: string
      method: 'passwordless' | 'pin'
      channel?: ('email' | 'sms') | null
    },
    ...{
      system: string
      method: 'passwordless' | 'pin'
      channel?: ('email' | 'sms') | null
    }[],
  ]
}
/**
 * The user’s memorized PIN, or null to clear it.
 */
export interface PinSetRequest {
  pin: string | null
}
/**
 * A new API key.
 */
export interface KeyCreateRequest {
  name: string
  /**
   * @minItems 1
   * @maxItems 2
   */
  scopes: ['auth' | 'admin'] | ['auth' | 'admin', 'auth' | 'admin']
  expiresAt?: string
}
/**
 * Changes to the account’s settings; unknown keys are refused by name.
 */
export interface SettingsUpdateRequest {
  uniformResponses?: boolean
  sendLimits?: {
    perUserPerHour?: number
    perDestinationPerHour?: number
    perApiKeyPerMinute?: number
    perAccountPerDay?: number
    resendCooldownSeconds?: number
  }
  lockout?: {
    freeFailures?: number
    baseDelaySeconds?: number
    maxDelaySeconds?: number
    lockAfter?: number
  }
  auditRetentionDays?: number | null
  /**
   * @maxItems 50
   */
  returnOrigins?: string[]
  messages?: {
    appName?: string
    senderName?: string
    webOtpDomain?: string
    templates?: {
      [k: string]: {
        emailLinkSubject?: string
        emailLinkText?: string
        emailLinkButton?: string
        emailPinSubject?: string
        emailPinText?: string
        smsPin?: string
        smsLink?: string
      }
    }
  } | null
}
/**
 * What to preview.
 */
export interface PreviewRequest {
  locale: string
  method: 'passwordless' | 'pin'
  channel: 'email' | 'sms'
  system?: string
  messages?: {
    appName?: string
    senderName?: string
    webOtpDomain?: string
    templates?: {
      [k: string]: {
        emailLinkSubject?: string
        emailLinkText?: string
        emailLinkButton?: string
        emailPinSubject?: string
        emailPinText?: string
        smsPin?: string
        smsLink?: string
      }
    }
  } | null
}
/**
 * A console role to give or take.
 */
export interface ConsoleGrantRequest {
  role: ('admin' | 'viewer') | null
  email?: string
  method?: 'passwordless' | 'pin'
}
/**
 * A new account.
 */
export interface AccountCreateRequest {
  name: string
}
