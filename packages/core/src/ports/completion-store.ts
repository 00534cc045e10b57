import type { AuditDraft } from './rows.js'

// An optional ability of a Storage: same-device completion codes. A storage without it works; its
// links simply complete on the original device only. Times are epoch milliseconds.

/** One completion code: what a confirmed link hands the browser that clicked it. Only its SHA-256 is kept. */
export interface CompletionCodeRow {
  /** SHA-256 of the code, hex. */
  readonly codeHash: string
  readonly accountId: string
  /** The login the code completes: redeeming answers its identity, and only while it stands. */
  readonly challengeId: string
  readonly systemName: string
  readonly authid: string
  readonly createdAt: number
  readonly expiresAt: number
  /** When it was redeemed (it works once), or null. */
  readonly redeemedAt: number | null
}

/**
 * Where completion codes live. Implemented by `@flexsecure/kysely` (SQLite, PostgreSQL, MySQL); its
 * contract is part of `runStorageConformance`.
 */
export interface CompletionCodeStore {
  /**
   * Stores a code only while its challenge is `confirmed` (a login superseded or ended since the link
   * was confirmed gets none), with `audit` in the same transaction. Returns whether it was stored.
   */
  issue(row: CompletionCodeRow, audit: readonly AuditDraft[]): Promise<boolean>
  /**
   * One conditional write: marks the code with this hash redeemed at `at`, only if it belongs to
   * `accountId` (any account when null), was never redeemed, has not expired at `at`, and its
   * challenge is still `confirmed` or `authenticated`; then, in the same transaction, moves a
   * `confirmed` challenge to `authenticated` with its outcome not yet reported (the original device's
   * `check` still answers `authenticated` once) and writes `audit(row)`. Returns the redeemed row, or
   * null when nothing moved (two redeemers: one row).
   */
  redeem(
    codeHash: string,
    accountId: string | null,
    at: number,
    audit: (redeemed: CompletionCodeRow) => readonly AuditDraft[],
  ): Promise<CompletionCodeRow | null>
  /** The code with this hash, whatever its state (for the audit of a refused redeem), or null. */
  find(codeHash: string): Promise<CompletionCodeRow | null>
  /** Deletes codes that expired at or before `before`; returns how many. */
  sweep(before: number): Promise<number>
}
