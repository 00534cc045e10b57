import type { AssignmentRow, AuditDraft, SystemRow, UserRow } from './rows.js'

/** An account's systems and their policies. */
export interface SystemStore {
  /** Throws `ConflictError` (field `name`) when the account already has a system of that name. */
  insertSystem(row: SystemRow, audit: readonly AuditDraft[]): Promise<void>
  /**
   * Writes the system's settings. With `expectedUpdatedAt`, only if the stored row still has it, so a
   * concurrent change (rules, policies) is never silently overwritten: else `ConflictError` (`system`).
   */
  updateSystem(row: SystemRow, audit: readonly AuditDraft[], expectedUpdatedAt?: number): Promise<void>
  getSystem(accountId: string, name: string): Promise<SystemRow | null>
  listSystems(accountId: string): Promise<SystemRow[]>
}

/** An account's users: who they are, what they may use (assignments), their failures and memorized PIN. */
export interface UserStore {
  /** Throws `ConflictError` (field `authid`) when the authid is taken in the account. */
  insertUser(row: UserRow, audit: readonly AuditDraft[]): Promise<void>
  updateUser(row: UserRow, audit: readonly AuditDraft[]): Promise<void>
  getUser(accountId: string, authid: string): Promise<UserRow | null>
  /** Users ordered by authid, after `afterAuthid` when given. */
  listUsers(accountId: string, options: { afterAuthid?: string; limit: number }): Promise<UserRow[]>
  /** Deletes the user with their assignments and challenges; the audit trail keeps its events. */
  removeUser(userId: string, audit: readonly AuditDraft[]): Promise<boolean>
  /** Adds or replaces several of a user's assignments at once, all or none. */
  saveAssignments(
    userId: string,
    rows: readonly Omit<AssignmentRow, 'challengeId' | 'userId'>[],
    audit: readonly AuditDraft[],
  ): Promise<void>
  listAssignments(userId: string): Promise<AssignmentRow[]>
  /**
   * Counts one more consecutive failure for the user at `at` and applies `decide(streak)`: a delay before the
   * next start (never shortening one already set) and possibly the lock. Writes `audit` plus, when it
   * locks, `lockAudit`, in the same transaction.
   */
  recordFailure(
    userId: string,
    at: number,
    decide: (streak: number) => { retryAfter: number | null; lock: boolean },
    audit: readonly AuditDraft[],
    lockAudit: (streak: number) => AuditDraft,
  ): Promise<{ streak: number; locked: boolean }>
  /** Clears the lock, the streak and any delay. Returns whether the user was locked. */
  unlockUser(userId: string, at: number, audit: readonly AuditDraft[]): Promise<boolean>
  /** Sets (or clears, with null) the user's memorized PIN hash. */
  setMemorizedPin(
    userId: string,
    hash: string | null,
    at: number,
    audit: readonly AuditDraft[],
  ): Promise<void>
}
