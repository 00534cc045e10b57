import type {
  ChallengeStatus,
  Channel,
  Method,
  RequestContext,
  SecurityReason,
  SystemPolicies,
  UserStatus,
} from './model.js'

// Rows as storage keeps them. Times are milliseconds since the Unix epoch.

export interface AccountRow {
  readonly id: string
  readonly name: string
  readonly createdAt: number
}

export interface SystemRow {
  readonly id: string
  readonly accountId: string
  readonly name: string
  readonly policies: SystemPolicies
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
  readonly status: UserStatus
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
}

/** Everything `start` and `check` need to know, read in one query. */
export interface LoginSubject {
  readonly system: SystemRow
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
}

export interface AuditQuery {
  readonly accountId: string
  /** Events after this sequence number (a cursor). */
  readonly after?: number
  readonly limit: number
}

/** A conditional move of a challenge: it happens only when the row is in one of `from`. */
export interface ChallengeTransition {
  readonly id: string
  readonly from: readonly [ChallengeStatus] | readonly [ChallengeStatus, ChallengeStatus]
  readonly to: ChallengeStatus
  readonly at: number
  /** Whether this move reports the final outcome to a `check` caller. */
  readonly reported: boolean
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

  insertAccount(row: AccountRow): Promise<void>
  getAccount(id: string): Promise<AccountRow | null>

  /** Throws `ConflictError` (field `name`) when the account already has a system of that name. */
  insertSystem(row: SystemRow, audit: readonly AuditDraft[]): Promise<void>
  updateSystem(row: SystemRow, audit: readonly AuditDraft[]): Promise<void>
  getSystem(accountId: string, name: string): Promise<SystemRow | null>
  listSystems(accountId: string): Promise<SystemRow[]>

  /** Throws `ConflictError` (field `authid`) when the authid is taken in the account. */
  insertUser(row: UserRow, audit: readonly AuditDraft[]): Promise<void>
  updateUser(row: UserRow, audit: readonly AuditDraft[]): Promise<void>
  getUser(accountId: string, authid: string): Promise<UserRow | null>
  /** Users ordered by authid, after `afterAuthid` when given. */
  listUsers(accountId: string, options: { afterAuthid?: string; limit: number }): Promise<UserRow[]>

  /** Adds or replaces several of a user's assignments at once, all or none. */
  saveAssignments(
    userId: string,
    rows: readonly Omit<AssignmentRow, 'challengeId'>[],
    audit: readonly AuditDraft[],
  ): Promise<void>
  listAssignments(userId: string): Promise<AssignmentRow[]>

  /** The system by name, and the user, assignment and current challenge when they exist. */
  resolveLogin(accountId: string, system: string, authid: string): Promise<LoginSubject | null>

  /**
   * In one transaction: points the (user, system) assignment at `challenge` first (which serializes
   * concurrent starts for that pair on the assignment row), moves every live challenge of the pair to
   * `superseded`, then inserts `challenge`. Returns false, changing nothing, when the assignment is gone.
   */
  issueChallenge(challenge: ChallengeRow, audit: readonly AuditDraft[]): Promise<boolean>

  getChallenge(id: string): Promise<ChallengeRow | null>
  getChallengeByLinkHash(linkHash: string): Promise<ChallengeRow | null>

  /**
   * One conditional write: `pending` → `confirmed` for the challenge with this link hash, only while
   * it has not expired at `at`. Returns the confirmed row, or null when nothing moved.
   */
  confirmLink(
    linkHash: string,
    at: number,
    audit: (confirmed: ChallengeRow) => AuditDraft,
  ): Promise<ChallengeRow | null>

  /**
   * One conditional write that takes one PIN attempt before the PIN is verified, so concurrent guesses
   * can never exceed `maxAttempts`. Returns the attempts now used, or null when the challenge is not
   * pending, has expired at `at`, or has no attempts left.
   */
  reserveAttempt(id: string, at: number): Promise<number | null>

  /** One conditional write; returns whether it moved the challenge. `audit` is written only if it did. */
  transitionChallenge(move: ChallengeTransition, audit: readonly AuditDraft[]): Promise<boolean>

  /**
   * Moves up to `limit` live challenges whose `expiresAt` ≤ `at` to `expired`, writing `audit(row)` for
   * each in the same transaction, and returns them.
   */
  expireDue(at: number, limit: number, audit: (expired: ChallengeRow) => AuditDraft): Promise<ChallengeRow[]>

  appendAudit(audit: readonly AuditDraft[]): Promise<void>
  listAudit(query: AuditQuery): Promise<AuditEvent[]>
}
