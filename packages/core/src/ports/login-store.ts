import type {
  AuditDraft,
  ChallengeRow,
  ChallengeTransition,
  DeliveryRow,
  IssueOutcome,
  LoginSubject,
  PollView,
  SendLimit,
} from './rows.js'

/**
 * What a right PIN does in `settlePinAttempt`: the move, its audit, the failure reset. The move goes from the
 * call's `status` (its `from` is not read) and ends the PIN layer: its `resetAttempts` is not read either.
 */
export interface PinAcceptance {
  readonly right: true
  readonly move: ChallengeTransition
  readonly audit: readonly AuditDraft[]
  readonly resetFailuresOf?: string
}

/**
 * One more consecutive failure of a user (S17), as `UserStore.recordFailure(userId, at, decide, audit,
 * lockAudit)` counts it: `decide(streak)` gives the delay (never shortening one already set) and the lock,
 * and the lock, when it comes, is audited as `lockAudit(streak)`.
 */
export interface FailureToCount {
  readonly userId: string
  readonly at: number
  readonly decide: (streak: number) => { retryAfter: number | null; lock: boolean }
  readonly lockAudit: (streak: number) => AuditDraft
}

/**
 * What a wrong PIN does in `settlePinAttempt`, in the attempt's transaction: when the attempt taken was the
 * challenge's last (the attempts now used reach its `maxAttempts`), `burn` moves it first, as
 * `transitionChallenge` would; then the user's `failure` is counted, with `audit(attempts)` written once.
 */
export interface PinRejection {
  readonly right: false
  readonly burn: ChallengeTransition
  readonly audit: (attempts: number) => readonly AuditDraft[]
  readonly failure: FailureToCount
}

/** What the engine found of a PIN it verified before taking its attempt. */
export type PinVerdict = PinAcceptance | PinRejection

/**
 * Logins: challenges from start to end. Each operation that moves a challenge is a single conditional
 * write (or one transaction), so two processes sharing a database can never both win.
 */
export interface LoginStore {
  /** The account, and the system, user, assignment and current challenge when they exist; null for an unknown account. */
  resolveLogin(accountId: string, system: string, authid: string): Promise<LoginSubject | null>
  /**
   * Optional: the same read narrowed to what `check` decides on without a PIN (`PollView`), null for an
   * unknown account. With it, a `check` without a PIN reads only the view, whatever it answers; a check
   * with a PIN reads the whole subject, as every check does on a storage without it. On SQLite the view's 21 columns of 58
   * take a pending poll through the server from 91–92 to 83–84 µs of CPU (bench/README.md, "HTTP polls").
   */
  pollLogin?(accountId: string, system: string, authid: string): Promise<PollView | null>
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
  /**
   * One conditional write that takes one PIN attempt before the PIN is verified, so concurrent guesses
   * can never exceed `maxAttempts`. Returns the attempts now used, or null when the challenge is not
   * in `status` (default `pending`; `confirmed` when waiting for its memorized PIN), has expired at
   * `at`, has no attempts left, or had its outcome reported.
   */
  reserveAttempt(id: string, at: number, status?: 'pending' | 'confirmed'): Promise<number | null>
  /**
   * Optional: one attempt at a PIN the engine verified before taking it (a one-time PIN kept as a keyed
   * HMAC, microseconds to check), settled in one transaction, all or nothing. Takes the attempt as
   * `reserveAttempt` does; then for a right PIN makes its move in the same conditional write, with its
   * audit and the failure reset as `transitionChallenge` writes them, and for a wrong one burns the
   * challenge if that was its last attempt and counts the user's failure as `UserStore.recordFailure`
   * does. The attempt is the same statement right or wrong, so a guess that finds no attempt left costs
   * the same either way, and a wrong guess costs one transaction, as a guess at a decoy does (S20).
   * Returns the attempts now used, or null when nothing changed (nothing is written then). Without it the
   * engine reserves, verifies, then moves or counts the failure: two transactions a guess.
   */
  settlePinAttempt?(
    id: string,
    at: number,
    status: 'pending' | 'confirmed',
    verdict: PinVerdict,
  ): Promise<number | null>
  /**
   * One conditional write; returns whether it moved the challenge. `audit` is written only if it did,
   * and then, with `resetFailuresOf`, that user's failure streak and delay are cleared too.
   */
  transitionChallenge(
    move: ChallengeTransition,
    audit: readonly AuditDraft[],
    resetFailuresOf?: string,
  ): Promise<boolean>
  /** What the rules need of a user's history: the last authenticated login, and whether `device` was in one. */
  userHistory(
    userId: string,
    device: string | null,
  ): Promise<{ lastSuccessAt: number | null; knownDevice: boolean }>
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
}
