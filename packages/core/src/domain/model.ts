import type { MessageSettings } from './settings.js'

/**
 * The ways a user can prove who they are by a delivered secret. The third, `memorized_pin` (a PIN the
 * user knows), is only ever an extra layer: see `Layer`.
 */
export type Method = 'passwordless' | 'pin'

/** One step of a challenge: its method, or the user's memorized PIN after it. */
export type Layer = Method | 'memorized_pin'
export const METHODS: readonly Method[] = ['passwordless', 'pin']

/** Where a link or one-time PIN is delivered. */
export type Channel = 'email' | 'sms'
export const CHANNELS: readonly Channel[] = ['email', 'sms']

/** `locked` is set by 100 consecutive failures (S17) and cleared only by `users.unlock`. */
export type UserStatus = 'active' | 'disabled' | 'locked'

/** The challenge lifecycle (docs/architecture.md, "How a login moves"). */
export type ChallengeStatus = 'pending' | 'confirmed' | 'authenticated' | 'failed' | 'expired' | 'superseded'

/** Machine-readable reasons for a `security error`, for the API key holder only (S21). */
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
  /** The only destination the login could use is a number no message may go to (premium rate, …, S18). */
  | 'destination_refused'
  | 'wrong_code'
  | 'invalid_code'
  | 'invalid_key'
  | 'forbidden_scope'

/** A flat map of request attributes (at most 32 keys) passed to `start`. */
export type RequestContext = Readonly<Record<string, string | number | boolean>>

/** Settings of one login method on one system. */
export interface MethodPolicy {
  readonly enabled: boolean
  /** Channels in order of preference; the first one the user has a contact point for is used. */
  readonly channels: readonly Channel[]
  /** Seconds from `start` until the challenge expires (S4: at most 600). */
  readonly lifetimeSeconds: number
}

export interface PinPolicy extends MethodPolicy {
  /** Digits in a one-time PIN, 6 to 10 (S2). */
  readonly pinLength: number
  /** Wrong PINs before the challenge burns, 1 to 5 (S16). */
  readonly attempts: number
}

/** The magic link's policy: a method policy, plus where a confirmed link may send its browser. */
export interface PasswordlessPolicy extends MethodPolicy {
  /**
   * Same-device completion: the exact URLs a `start` may name as `returnUrl` (absolute https, or http
   * on a loopback host). Absent or empty: links complete on the original device only.
   */
  readonly returnUrls?: readonly string[]
}

export interface SystemPolicies {
  readonly passwordless: PasswordlessPolicy
  readonly pin: PinPolicy
}

export interface Account {
  readonly id: string
  readonly name: string
  readonly createdAt: Date
}

export interface System {
  readonly id: string
  readonly name: string
  readonly policies: SystemPolicies
  readonly returnUrl: string | null
  readonly messages: MessageSettings | null
  readonly sensitivity: Sensitivity
  /** The adaptive rules in order; `rulesVersion` counts their changes (0: never set). */
  readonly rules: readonly Rule[]
  readonly rulesVersion: number
  readonly rulesUpdatedAt: Date | null
  readonly rulesUpdatedBy: string | null
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface User {
  readonly id: string
  readonly authid: string
  readonly displayName: string | null
  readonly email: string | null
  readonly phone: string | null
  readonly locale: string | null
  readonly attributes: Readonly<Record<string, string | number | boolean>>
  /** Whether the user has a memorized PIN (never the PIN or its hash). */
  readonly hasMemorizedPin: boolean
  readonly status: UserStatus
  readonly createdAt: Date
  readonly updatedAt: Date
}

/** One system a user may access, and how. */
export interface Assignment {
  readonly system: string
  readonly method: Method
  /** A fixed channel, or null to take the policy's first channel the user can receive. */
  readonly channel: Channel | null
}

/**
 * What `start` answers. With `uniformResponses` (S20) a refused start answers `success` too, with a
 * decoy `challengeId` (and `matchCode` where the system matches numbers): the same shape as a real one.
 */
export type StartResult =
  | {
      readonly result: 'success'
      readonly challengeId: string
      readonly expiresAt: Date
      readonly method: Method
      /** The channel carrying the secret: the other one when the first failed for good and the PIN or link went by fallback. */
      readonly channel: Channel
      /**
       * Where the message stands: `sent` (the provider took it), `failed` (it did not; the outbox
       * retries, or falls back to another channel, `queued`), or `queued`.
       */
      readonly delivery: DeliveryState
      /** The layers to pass, in order: the method, then `memorized_pin` when a rule requires it. */
      readonly layers: readonly Layer[]
      /** With number matching (S12): show this to the user; the confirm page asks for it. */
      readonly matchCode?: string
    }
  /**
   * Throttled: too many calls for the API key or the account (S31), a send limit (S18) or a delay
   * after failures (S17). Not a security error.
   */
  | { readonly result: 'rate limited'; readonly retryAfter: Date }
  | { readonly result: 'security error'; readonly reason: SecurityReason }

/** What `check` answers. `authenticated` is answered once per challenge. */
export type CheckResult =
  | { readonly result: 'authenticated'; readonly challengeId: string }
  | {
      readonly result: 'pending'
      readonly challengeId: string
      readonly method: Method
      /** The channel carrying the secret now, so a host can tell its user where to look (after a fallback, the other one). */
      readonly channel: Channel
      /** Where the challenge's message stands, so a host can tell its user (`failed`: still retrying). */
      readonly delivery: DeliveryState | null
      /** The layer the user must pass next: the link, the one-time PIN, or the memorized PIN. */
      readonly next: Layer
    }
  | { readonly result: 'expired' }
  /** Too many calls for the API key or the account (S31), or polls of this login (S19). */
  | { readonly result: 'rate limited'; readonly retryAfter: Date }
  | { readonly result: 'security error'; readonly reason: SecurityReason }

/** Where a login's message stands, as `check` reports it. */
export type DeliveryState = 'queued' | 'sent' | 'failed'

// What an adaptive rule says, as stored and as a custom predicate sees a login. The logic that
// validates, compiles and evaluates rules is in policy/rules.ts.

export type Sensitivity = 'low' | 'medium' | 'high'
export const SENSITIVITIES: readonly Sensitivity[] = ['low', 'medium', 'high']

export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const
export type Weekday = (typeof DAYS)[number]

/** A time window in a time zone: on these weekdays (default every day), from `from` to `to` (HH:MM, `to` excluded). */
export interface TimeWindow {
  readonly timeZone: string
  readonly days?: readonly Weekday[]
  readonly from?: string
  readonly to?: string
}

/** Every condition given must hold for the rule to match; a rule without conditions always matches. */
export interface RuleConditions {
  /** The client IP (`context.ip`) is in one of these CIDR ranges (IPv4 or IPv6). */
  readonly ipIn?: readonly string[]
  /** The client IP is in none of these ranges; a request without an IP counts as outside. */
  readonly ipNotIn?: readonly string[]
  /** The request falls inside this window. */
  readonly timeIn?: TimeWindow
  /** The request falls outside this window. */
  readonly timeNotIn?: TimeWindow
  /** The effective sensitivity (the system's, raised by `context.sensitivity`) is at least this. */
  readonly sensitivityAtLeast?: Sensitivity
  /** `context.resource` is one of these labels. */
  readonly resource?: readonly string[]
  /** `context.action` is one of these labels. */
  readonly action?: readonly string[]
  /** `context.deviceId` was never seen in an authenticated login of this user (true), or was (false). */
  readonly newDevice?: boolean
  /** The user's consecutive failures are at least this many. */
  readonly failuresAtLeast?: number
  /** At least this many days since the user's last authenticated login (or never). */
  readonly daysSinceLastSuccessAtLeast?: number
  /** Each named user attribute equals the value, or one of the values. */
  readonly userAttributes?: Readonly<
    Record<string, string | number | boolean | readonly (string | number | boolean)[]>
  >
  /** Predicates registered in code (`createEngine({ policy: { predicates } })`), all true. */
  readonly custom?: readonly string[]
}

/** What a matching rule does. Nothing here can weaken the assignment's method. */
export interface RuleEffect {
  readonly deny?: boolean
  /** Adds the user's memorized PIN as a layer after the delivered link or one-time PIN. */
  readonly requireMemorizedPin?: boolean
  /** Send on this channel, when the policy enables it and the user has it. The first rule that says wins. */
  readonly channel?: Channel
  /** Shorten the challenge's lifetime to at most this. */
  readonly maxLifetimeSeconds?: number
  /** Lower the PIN attempts to at most this. */
  readonly maxAttempts?: number
  /** The host shows a code that the confirm page must receive (S12). */
  readonly numberMatching?: boolean
}

export interface Rule {
  readonly name: string
  readonly when?: RuleConditions
  readonly effect: RuleEffect
}

/** A system's rules as stored: versioned, with who changed them and when. */
export interface RuleSet {
  readonly version: number
  readonly updatedAt: number | null
  readonly updatedBy: string | null
  readonly rules: readonly Rule[]
}

export const EMPTY_RULES: RuleSet = Object.freeze({ version: 0, updatedAt: null, updatedBy: null, rules: [] })

/** What a custom predicate sees. */
export interface PolicyInput {
  readonly system: { readonly name: string; readonly sensitivity: Sensitivity }
  readonly user: {
    readonly authid: string
    readonly attributes: Readonly<Record<string, string | number | boolean>>
    readonly failureStreak: number
    readonly lastSuccessAt: number | null
    readonly hasMemorizedPin: boolean
  }
  readonly context: RequestContext
  /** Whether `context.deviceId` was seen before for this user; null without a device id. */
  readonly knownDevice: boolean | null
  readonly now: number
}

export type Predicate = (input: PolicyInput) => boolean
