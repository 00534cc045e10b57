import type { AccountSettings } from './account-settings.js'
import type { AdminQueryStore } from './admin-query-store.js'
import type { Scope } from './api-keys.js'
import type { AuditSealer } from './audit-chain.js'
import type { ConsoleSessionStore } from './console-session-store.js'
import type { MessageSettings } from './messages.js'
import type {
  ChallengeStatus,
  Channel,
  Method,
  RequestContext,
  SecurityReason,
  SystemPolicies,
  UserStatus,
} from './model.js'
import type { RuleSet, Sensitivity } from './policy.js'

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
  /** A layer after the delivered one: `memorized_pin`, or null (ARCHITECTURE.md's steps). */
  readonly extraLayer: 'memorized_pin' | null
  /** The code the confirm page must receive (S12), or null when the policy did not ask for it. */
  readonly matchCode: string | null
  /** A keyed digest of `context.deviceId`, for "device never seen" rules, or null. */
  readonly device: string | null
  /** The delivery `check` reports on: the first one, or the fallback that replaced it. */
  readonly deliveryId: string | null
  /**
   * Where that delivery stands (`queued`, `sent`, `failed`), read with the row from the delivery
   * itself, so sending a message never rewrites its challenge. Ignored when inserting.
   */
  readonly delivery: DeliveryState | null
}

/** What a host hears about a challenge's message while the challenge is pending. */
export type DeliveryState = 'queued' | 'sent' | 'failed'

/**
 * An outbox row's states. `queued` waits for its first attempt and `failed` for a retry; `sent`,
 * `abandoned` (permanent failure, or retries ran out) and `cancelled` (its challenge is no longer
 * pending) are final, and a final row holds no payload.
 */
export type DeliveryStatus = 'queued' | 'failed' | 'sent' | 'abandoned' | 'cancelled'

/** One message in the outbox (ARCHITECTURE.md's Delivery). */
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

/**
 * The persistence port. Operations are shaped by what must be atomic: each one that moves a
 * challenge is a single conditional write (or one transaction), so two processes sharing a database
 * can never both win. Audit drafts passed to an operation are written in the same transaction.
 * Failures throw `StorageError`; a failed operation leaves nothing behind.
 */
export interface Storage {
  /** Creates or upgrades the schema. Safe to call from several processes at once. */
  migrate(): Promise<void>
  close(): Promise<void>
  /**
   * Sets how audit events are sealed into their account's chain; the engine calls it once when it is
   * created. Appending an audit event before this throws StorageError.
   */
  sealAuditWith(sealer: AuditSealer): void

  insertAccount(row: AccountRow): Promise<void>
  getAccount(id: string): Promise<AccountRow | null>
  listAccounts(): Promise<AccountRow[]>
  /**
   * Changes an account's settings in one transaction: `change` gets the settings as stored, read under
   * the account row's write lock, so concurrent updates each build on the other's result instead of
   * overwriting it. What `change` throws rolls everything back. Null for an unknown account.
   */
  updateAccountSettings(
    id: string,
    change: (current: AccountSettings) => AccountSettings,
    audit: (next: AccountSettings) => readonly AuditDraft[],
  ): Promise<AccountSettings | null>

  insertApiKey(row: ApiKeyRow, audit: readonly AuditDraft[]): Promise<void>
  listApiKeys(accountId: string): Promise<ApiKeyRow[]>
  getApiKeyBySha256(sha256: string): Promise<ApiKeyRow | null>
  /** Sets `revokedAt` once; false when the key is unknown in the account or already revoked. */
  revokeApiKey(accountId: string, id: string, at: number, audit: readonly AuditDraft[]): Promise<boolean>
  /** Records use at `at` only if the last recorded use is older than `minIntervalMs`: at most one write per interval. */
  touchApiKey(id: string, at: number, minIntervalMs: number): Promise<void>

  /** Throws `ConflictError` (field `name`) when the account already has a system of that name. */
  insertSystem(row: SystemRow, audit: readonly AuditDraft[]): Promise<void>
  /**
   * Writes the system's settings. With `expectedUpdatedAt`, only if the stored row still has it, so a
   * concurrent change (rules, policies) is never silently overwritten: else `ConflictError` (`system`).
   */
  updateSystem(row: SystemRow, audit: readonly AuditDraft[], expectedUpdatedAt?: number): Promise<void>
  getSystem(accountId: string, name: string): Promise<SystemRow | null>
  listSystems(accountId: string): Promise<SystemRow[]>

  /** Throws `ConflictError` (field `authid`) when the authid is taken in the account. */
  insertUser(row: UserRow, audit: readonly AuditDraft[]): Promise<void>
  updateUser(row: UserRow, audit: readonly AuditDraft[]): Promise<void>
  getUser(accountId: string, authid: string): Promise<UserRow | null>
  /** Users ordered by authid, after `afterAuthid` when given. */
  listUsers(accountId: string, options: { afterAuthid?: string; limit: number }): Promise<UserRow[]>

  /**
   * Counts one more consecutive failure for the user and applies `decide(streak)`: a delay before the
   * next start (never shortening one already set) and possibly the lock. Writes `audit` plus, when it
   * locks, `lockAudit`, in the same transaction.
   */
  recordFailure(
    userId: string,
    decide: (streak: number) => { retryAfter: number | null; lock: boolean },
    audit: readonly AuditDraft[],
    lockAudit: (streak: number) => AuditDraft,
  ): Promise<{ streak: number; locked: boolean }>
  /** Clears the lock, the streak and any delay. Returns whether the user was locked. */
  unlockUser(userId: string, at: number, audit: readonly AuditDraft[]): Promise<boolean>
  /** Deletes the user with their assignments and challenges; the audit trail keeps its events. */
  removeUser(userId: string, audit: readonly AuditDraft[]): Promise<boolean>

  /** Adds or replaces several of a user's assignments at once, all or none. */
  saveAssignments(
    userId: string,
    rows: readonly Omit<AssignmentRow, 'challengeId'>[],
    audit: readonly AuditDraft[],
  ): Promise<void>
  listAssignments(userId: string): Promise<AssignmentRow[]>

  /** The account, and the system, user, assignment and current challenge when they exist; null for an unknown account. */
  resolveLogin(accountId: string, system: string, authid: string): Promise<LoginSubject | null>

  /**
   * In one transaction: takes one unit of each send limit, points the (user, system) assignment at
   * `challenge` (which serializes concurrent starts for that pair on the assignment row), moves every
   * live challenge of the pair to `superseded`, then inserts `challenge`. When a limit is spent or the
   * assignment is gone, nothing at all changes. `limits` run from the most specific to the one the whole
   * account shares, which comes last: it is taken only after the others passed, so a refused start never
   * holds the account's shared counter. Keys are distinct.
   */
  issueChallenge(
    challenge: ChallengeRow,
    audit: readonly AuditDraft[],
    limits: readonly SendLimit[],
    deliveries?: readonly DeliveryRow[],
  ): Promise<IssueOutcome>

  /**
   * Claims up to `limit` deliveries that are due at `at` (queued or failed, next attempt reached, no
   * live claim, not past their challenge's expiry, challenge still pending): one more attempt each,
   * owned until `at + leaseMs`. Two dispatchers never claim the same row at once.
   */
  claimDeliveries(at: number, leaseMs: number, limit: number): Promise<DeliveryRow[]>
  /**
   * Records an attempt's outcome if the claim still holds (the row is queued or failed and its
   * attempts equal `outcome.attempt`); with `fallback`, inserts it and makes it the challenge's
   * reported delivery; writes `audit`; all in one transaction. A final status wipes the payload.
   */
  finishDelivery(
    outcome: DeliveryOutcome,
    audit: readonly AuditDraft[],
    fallback?: DeliveryRow,
  ): Promise<boolean>
  /**
   * Optional: `finishDelivery` for many outcomes (none with a fallback) in one transaction, one audit head
   * move per account; answers, in order, whether each claim still held. Without it, the engine calls
   * `finishDelivery` for each.
   */
  finishDeliveries?(
    batch: readonly { readonly outcome: DeliveryOutcome; readonly audit: readonly AuditDraft[] }[],
  ): Promise<boolean[]>
  /**
   * Cancels up to `limit` unfinished deliveries whose challenge is no longer pending or has expired at
   * `at`, wiping their payloads, with `audit(row)` for each; returns them.
   */
  cancelDeliveries(
    at: number,
    limit: number,
    audit: (cancelled: DeliveryRow, challenge: { systemName: string; authid: string } | null) => AuditDraft,
  ): Promise<DeliveryRow[]>
  /** A challenge's deliveries, oldest first. */
  listDeliveries(challengeId: string): Promise<DeliveryRow[]>

  getChallenge(id: string): Promise<ChallengeRow | null>
  getChallengeByLinkHash(linkHash: string): Promise<ChallengeRow | null>

  /**
   * One conditional write: `pending` → `confirmed` for the challenge with this link hash, only while
   * it has not expired at `at`, and only with its match code when it has one; a challenge with a code
   * first spends one attempt in the same transaction (none left: nothing confirms). Confirming starts
   * the attempt count again. Returns the confirmed row, or null when nothing moved.
   */
  confirmLink(
    linkHash: string,
    at: number,
    audit: (confirmed: ChallengeRow) => AuditDraft,
    matchCode?: string | null,
  ): Promise<ChallengeRow | null>

  /** What the rules need of a user's history: the last authenticated login, and whether `device` was in one. */
  userHistory(
    userId: string,
    device: string | null,
  ): Promise<{ lastSuccessAt: number | null; knownDevice: boolean }>
  /** Sets (or clears, with null) the user's memorized PIN hash. */
  setMemorizedPin(
    userId: string,
    hash: string | null,
    at: number,
    audit: readonly AuditDraft[],
  ): Promise<void>

  /**
   * One conditional write that takes one PIN attempt before the PIN is verified, so concurrent guesses
   * can never exceed `maxAttempts`. Returns the attempts now used, or null when the challenge is not
   * in `status` (default `pending`; `confirmed` when waiting for its memorized PIN), has expired at
   * `at`, or has no attempts left.
   */
  reserveAttempt(id: string, at: number, status?: 'pending' | 'confirmed'): Promise<number | null>

  /**
   * One conditional write; returns whether it moved the challenge. `audit` is written only if it did,
   * and then, with `resetFailuresOf`, that user's failure streak and delay are cleared too.
   */
  transitionChallenge(
    move: ChallengeTransition,
    audit: readonly AuditDraft[],
    resetFailuresOf?: string,
  ): Promise<boolean>

  /**
   * Moves up to `limit` live challenges whose `expiresAt` ≤ `at` to `expired`, writing `audit(row)` for
   * each in the same transaction, and returns them.
   */
  expireDue(at: number, limit: number, audit: (expired: ChallengeRow) => AuditDraft): Promise<ChallengeRow[]>

  /** Forgets send-limit windows that ended at or before `at`. */
  sweepRateLimits(at: number): Promise<number>

  appendAudit(audit: readonly AuditDraft[]): Promise<void>
  /** Events by ascending sequence number, filtered. */
  listAudit(query: AuditQuery): Promise<AuditEvent[]>
  getAuditHead(accountId: string): Promise<AuditHead | null>
  /**
   * Deletes the account's events older than `before` (a prefix of the chain), records the last
   * deleted one as the anchor, and appends `audit` (the purge's own record). Returns how many went.
   */
  purgeAudit(accountId: string, before: number, audit: readonly AuditDraft[]): Promise<number>

  /** Optional: the console's sessions. Without it a storage works, but cannot host the console. */
  readonly consoleSessions?: ConsoleSessionStore
  /** Optional: user search, the outbox list, login counts, the newest audit events (admin screens and API). */
  readonly adminQueries?: AdminQueryStore
}
