import type { AccountSettings } from '../domain/settings.js'
import type { AdminQueryStore } from './admin-query-store.js'
import type { CompletionCodeStore } from './completion-store.js'
import type { ConsoleSessionStore } from './console-session-store.js'
import type {
  AccountRow,
  ApiKeyRow,
  AssignmentRow,
  AuditDraft,
  AuditEvent,
  AuditHead,
  AuditQuery,
  AuditSealer,
  ChallengeRow,
  ChallengeTransition,
  DeliveryOutcome,
  DeliveryRow,
  IssueOutcome,
  LoginSubject,
  SendLimit,
  SystemRow,
  UserRow,
} from './rows.js'
import type { SecretStore } from './secret-store.js'

export type { DeliveryState } from '../domain/model.js'
export type * from './rows.js'

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
   * reported delivery and its channel the challenge's; writes `audit`; all in one transaction. A final
   * status wipes the payload.
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
  /**
   * S35: deletes up to `limit` challenges that ended (authenticated, failed, expired, superseded) and
   * expired before `before`, with all their deliveries; live ones stay, and so does the audit trail.
   * Returns how many challenges went.
   */
  purgeEndedChallenges(before: number, limit: number): Promise<number>

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
  /** Optional: same-device completion codes. Without it, links complete on the original device only. */
  readonly completionCodes?: CompletionCodeStore
  /** Optional: user search, the outbox list, login counts, the newest audit events (admin screens and API). */
  readonly adminQueries?: AdminQueryStore
  /** Optional: the engine secret's fingerprint and the payloads a rotation re-seals (S33). */
  readonly secretStore?: SecretStore
}
