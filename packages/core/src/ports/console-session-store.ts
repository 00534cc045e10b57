import type { UserStatus } from '../domain/model.js'
import type { AuditDraft } from './rows.js'

// An optional ability of a Storage: the administration console's server-side sessions (S24). A storage
// without it can do everything else; it simply cannot host the console. Times are epoch milliseconds.

/** One signed-in administrator's session. The cookie's token is never stored, only its SHA-256. */
export interface ConsoleSessionRow {
  /** A public handle (random, not the token): what the session list shows and revocation names. */
  readonly id: string
  /** SHA-256 of the cookie's token, hex. */
  readonly tokenHash: string
  readonly accountId: string
  readonly userId: string
  readonly authid: string
  /** The authenticated login this session rests on (the sign-in, then the latest re-authentication). */
  readonly challengeId: string
  readonly createdAt: number
  /** The last request seen, recorded at most once a minute: what idle expiry counts from. */
  readonly lastSeenAt: number
  /** The last time the administrator proved themselves (sign-in or re-authentication). */
  readonly authenticatedAt: number
  /** Absolute expiry: the session ends then however active it is. */
  readonly expiresAt: number
  readonly revokedAt: number | null
  readonly ip: string | null
  readonly userAgent: string | null
}

/** A session with what its user is now: an administrator who was disabled or demoted loses it at once. */
export interface ConsoleSessionHolder {
  readonly session: ConsoleSessionRow
  readonly userStatus: UserStatus
  readonly userAttributes: Readonly<Record<string, string | number | boolean>>
  /** Whether the user is still assigned to the console system. */
  readonly assigned: boolean
}

/**
 * Where console sessions live. Every write takes its audit drafts, written in the same transaction.
 * Implemented by `@flexsecure/kysely` (SQLite, PostgreSQL, MySQL); checked by `runConsoleStoreConformance`.
 */
export interface ConsoleSessionStore {
  /** Stores a new session; `ConflictError` (field `challengeId`) when that login already backs a session. */
  insert(row: ConsoleSessionRow, audit: readonly AuditDraft[]): Promise<void>
  /** The session whose token hashes to `tokenHash`, with its user as they are now (see the holder). */
  find(tokenHash: string, consoleSystem: string): Promise<ConsoleSessionHolder | null>
  /** Records a request at `at`, only when the last one recorded is at least `minIntervalMs` old. */
  touch(id: string, at: number, minIntervalMs: number): Promise<void>
  /**
   * Moves `authenticatedAt` to `at` on the strength of a new login, unless the session is revoked.
   * `ConflictError` (field `challengeId`) when that login already backs a session.
   */
  reauthenticate(id: string, challengeId: string, at: number, audit: readonly AuditDraft[]): Promise<boolean>
  /** The user's sessions that are neither revoked nor past their absolute expiry at `at`, newest first. */
  list(accountId: string, userId: string, at: number): Promise<ConsoleSessionRow[]>
  /** Revokes one of the user's sessions; false when it is not theirs or already revoked. */
  revoke(
    accountId: string,
    userId: string,
    id: string,
    at: number,
    audit: readonly AuditDraft[],
  ): Promise<boolean>
  /**
   * Deletes sessions revoked or past their absolute expiry at `before`, and those last seen at or before
   * `idleBefore`; returns how many.
   */
  sweep(before: number, idleBefore: number): Promise<number>
}
