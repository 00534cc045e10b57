import type { Scope } from '../domain/api-keys.js'
import type {
  ChallengeStatus,
  Channel,
  DeliveryState,
  Method,
  RequestContext,
  RuleSet,
  SecurityReason,
  Sensitivity,
  SystemPolicies,
  UserStatus,
} from '../domain/model.js'
import type { AccountSettings, MessageSettings } from '../domain/settings.js'

// The rows storage reads and writes, and what the audit chain seals; the Storage port is in storage.ts.

// Rows as storage keeps them. Times are milliseconds since the Unix epoch.

export interface AccountRow {
  readonly id: string
  readonly name: string
  readonly settings: AccountSettings
  readonly createdAt: number
}

export interface ApiKeyRow {
  readonly id: string
  readonly accountId: string
  readonly name: string
  /** The first characters of the key, for people to tell keys apart. */
  readonly prefix: string
  readonly sha256: string
  readonly scopes: readonly Scope[]
  readonly createdAt: number
  readonly lastUsedAt: number | null
  readonly expiresAt: number | null
  readonly revokedAt: number | null
}

/** One send limit a `start` must fit under: at most `limit` per window, counted under `key`. */
export interface SendLimit {
  readonly key: string
  readonly limit: number
  readonly windowMs: number
}

/** How `issueChallenge` ended. */
export type IssueOutcome =
  | { readonly issued: true }
  | { readonly issued: false; readonly reason: 'not_assigned' }
  | {
      readonly issued: false
      readonly reason: 'rate_limited'
      readonly key: string
      readonly retryAfter: number
    }

/** The last link of an account's audit chain, and where the chain starts after a purge. */
export interface AuditHead {
  readonly seq: number
  readonly mac: string | null
  readonly anchorSeq: number
  readonly anchorMac: string | null
  /** The sealer's MAC over the four fields above and the account id. */
  readonly headMac: string | null
}

export interface SystemRow {
  readonly id: string
  readonly accountId: string
  readonly name: string
  readonly policies: SystemPolicies
  /** Where a confirmed link's page sends the user back to (https, on an origin the account allows). */
  readonly returnUrl: string | null
  /** What this system's messages say and who they come from, over the account's; null for the account's. */
  readonly messages: MessageSettings | null
  /** How sensitive the system is; rules may require more for higher tiers. */
  readonly sensitivity: Sensitivity
  /** The adaptive rules, in order, with their version and who last changed them. */
  readonly rules: RuleSet
  readonly createdAt: number
  readonly updatedAt: number
}

export interface UserRow {
  readonly id: string
  readonly accountId: string
  readonly authid: string
  readonly displayName: string | null
  readonly email: string | null
  readonly phone: string | null
  /** The language of the user's messages (`en`, `de`, `pt-BR`), or null for English. */
  readonly locale: string | null
  /** Flat attributes rules can test (`department`, `role`, …). */
  readonly attributes: Readonly<Record<string, string | number | boolean>>
  /** argon2id hash of the PIN the user knows (S10), or null. */
  readonly memorizedPinHash: string | null
  readonly status: UserStatus
  /** Consecutive failures across challenges (S17); a success resets it. */
  readonly failureStreak: number
  /** Until when `start` answers `rate limited` after failures, or null. */
  readonly retryAfter: number | null
  readonly createdAt: number
  readonly updatedAt: number
}

export interface AssignmentRow {
  readonly userId: string
  readonly systemId: string
  readonly method: Method
  readonly channel: Channel | null
  /** The challenge `check` answers for: the last one issued for this (user, system). */
  readonly challengeId: string | null
}

export interface ChallengeRow {
  readonly id: string
  readonly accountId: string
  readonly systemId: string
  readonly userId: string
  /** The system's name and the user's authid at issue time, for the audit and the confirm page. */
  readonly systemName: string
  readonly authid: string
  readonly method: Method
  /** The channel carrying the secret now: the first delivery's, or its fallback's once one is queued. */
  readonly channel: Channel
  readonly status: ChallengeStatus
  /** SHA-256 of the link token, hex (passwordless), else null. */
  readonly linkHash: string | null
  /** argon2id hash of the PIN (pin), else null. */
  readonly pinHash: string | null
  readonly pinLength: number | null
  /** PIN submissions counted so far, and the most allowed (S16). */
  readonly attempts: number
  readonly maxAttempts: number
  readonly createdAt: number
  readonly expiresAt: number
  readonly completedAt: number | null
  /** Whether `check` has already answered this challenge's final outcome (it answers it once). */
  readonly outcomeReported: boolean
  readonly context: RequestContext | null
  /** A layer after the delivered one: `memorized_pin`, or null. */
  readonly extraLayer: 'memorized_pin' | null
  /** The code the confirm page must receive (S12), or null when the policy did not ask for it. */
  readonly matchCode: string | null
  /** A keyed digest of `context.deviceId`, for "device never seen" rules, or null. */
  readonly device: string | null
  /**
   * Same-device completion: the system's return URL the start named, where the confirmed link's page
   * sends its browser with a completion code. Absent or null: the original device completes.
   */
  readonly returnUrl?: string | null
  /** The delivery `check` reports on: the first one, or the fallback that replaced it. */
  readonly deliveryId: string | null
  /**
   * Where that delivery stands (`queued`, `sent`, `failed`), read with the row from the delivery
   * itself, so sending a message never rewrites its challenge. Ignored when inserting.
   */
  readonly delivery: DeliveryState | null
}

/**
 * An outbox row's states. `queued` waits for its first attempt and `failed` for a retry; `sent`,
 * `abandoned` (permanent failure, or retries ran out) and `cancelled` (its challenge is no longer
 * pending) are final, and a final row holds no payload.
 */
export type DeliveryStatus = 'queued' | 'failed' | 'sent' | 'abandoned' | 'cancelled'

/** One message in the outbox (docs/architecture.md, "The outbox"). */
export interface DeliveryRow {
  readonly id: string
  readonly accountId: string
  readonly challengeId: string
  readonly channel: Channel
  /** The destination masked for people (S26); the address itself is only inside the payload. */
  readonly destination: string
  readonly status: DeliveryStatus
  /** Attempts claimed so far; also the fence a dispatcher's final write must match. */
  readonly attempts: number
  readonly nextAttemptAt: number
  /** Until when the dispatcher that claimed it owns it; a dead dispatcher's claim lapses. */
  readonly claimedUntil: number | null
  readonly providerId: string | null
  readonly lastError: string | null
  /** The message, sealed with AES-256-GCM under a key derived from the engine secret; null once final. */
  readonly payload: string | null
  readonly createdAt: number
  readonly updatedAt: number
  /** The challenge's expiry: no attempt is made after it. */
  readonly expiresAt: number
  /** The delivery this one replaces on another channel, or null. */
  readonly fallbackOf: string | null
}

/** A dispatcher's verdict on the attempt it claimed. */
export interface DeliveryOutcome {
  readonly id: string
  readonly challengeId: string
  /** The `attempts` value its claim produced: a write with a stale fence changes nothing. */
  readonly attempt: number
  readonly to: 'sent' | 'failed' | 'abandoned'
  readonly at: number
  /** When to try again (`failed` only). */
  readonly nextAttemptAt?: number
  readonly providerId: string | null
  readonly lastError: string | null
}

/** Everything `start` and `check` need to know, read in one query. */
export interface LoginSubject {
  readonly account: AccountRow
  readonly system: SystemRow | null
  readonly user: UserRow | null
  readonly assignment: AssignmentRow | null
  /** The assignment's current challenge, if any. */
  readonly challenge: ChallengeRow | null
}

/**
 * What `check` reads when it carries no PIN (`LoginStore.pollLogin`): the columns of the login's subject
 * that answer a pending poll (the request a host sends most), a decoy's poll and every refusal, and move
 * the challenge where no secret is involved. Each field is the same as in `resolveLogin`'s subject.
 */
export interface PollView {
  /** The account's settings (uniform responses, lockout). */
  readonly settings: AccountRow['settings']
  readonly system: Pick<SystemRow, 'id' | 'policies'> | null
  readonly user: Pick<UserRow, 'id' | 'status' | 'failureStreak' | 'retryAfter'> | null
  /** Whether the user is assigned to the system. */
  readonly assigned: boolean
  /**
   * The current challenge: what answers it while it waits, what moves it without a PIN (a confirmed
   * link, an expiry, a layer still to come) and what a refusal of it records. No secret of it.
   */
  readonly challenge: Pick<
    ChallengeRow,
    | 'id'
    | 'accountId'
    | 'systemName'
    | 'authid'
    | 'method'
    | 'channel'
    | 'status'
    | 'attempts'
    | 'expiresAt'
    | 'outcomeReported'
    | 'extraLayer'
    | 'deliveryId'
    | 'delivery'
  > | null
}

/** An audit event before storage gives it its sequence number. Never holds a secret (S26). */
export interface AuditDraft {
  readonly accountId: string
  readonly at: number
  /** `challenge.started`, `challenge.checked`, `link.confirmed`, `system.created`, … */
  readonly type: string
  /** Who caused it: `api`, `admin`, `system` (the expiry sweep), or an API key id later. */
  readonly actor: string
  readonly system: string | null
  readonly authid: string | null
  readonly challengeId: string | null
  readonly outcome: string
  readonly reason: SecurityReason | null
  readonly ip: string | null
  readonly userAgent: string | null
  readonly details: Readonly<Record<string, unknown>> | null
}

export interface AuditEvent extends AuditDraft {
  readonly seq: number
  /** The previous event's MAC (or the purge anchor's), and this event's (S27). */
  readonly prevMac: string | null
  readonly mac: string | null
}

export interface AuditQuery {
  readonly accountId: string
  /** Events after this sequence number (a cursor). */
  readonly after?: number
  readonly limit: number
  /** Inclusive lower and exclusive upper bounds on `at`. */
  readonly since?: number
  readonly until?: number
  readonly system?: string
  readonly authid?: string
  readonly type?: string
  readonly outcome?: string
}

/** A conditional move of a challenge: it happens only when the row is in one of `from`. */
export interface ChallengeTransition {
  readonly id: string
  readonly from: readonly [ChallengeStatus] | readonly [ChallengeStatus, ChallengeStatus]
  readonly to: ChallengeStatus
  readonly at: number
  /** Whether this move reports the final outcome to a `check` caller. */
  readonly reported: boolean
  /** Start the attempt count again (a layer passed: the next one gets the whole budget). */
  readonly resetAttempts?: boolean
}

/** The head as sealed: its own MAC covers where the chain ends and where it starts after a purge. */
export interface SealedHead {
  readonly accountId: string
  readonly seq: number
  readonly mac: string | null
  readonly anchorSeq: number
  readonly anchorMac: string | null
}

/**
 * Computes MACs inside the appending transaction: an event's from the previous MAC, and the head's,
 * so that rewriting the head or the anchor without the key shows too.
 */
export interface AuditSealer {
  event(previousMac: string | null, event: Omit<AuditEvent, 'mac' | 'prevMac'>): string
  head(head: SealedHead): string
}

/** The result of walking an account's audit chain. */
export type AuditVerdict =
  | { readonly ok: true; readonly events: number; readonly lastSeq: number }
  | { readonly ok: false; readonly firstBadSeq: number; readonly problem: string }
