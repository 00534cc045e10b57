import { NotFoundError } from '../domain/errors.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { ChallengeRow, LoginSubject, PollView } from '../ports/storage.js'

// What `check` reads: a check without a PIN reads the login's narrow view (`LoginStore.pollLogin`, where
// the storage has it) and nothing more, whatever it answers: a pending poll, a decoy's poll, a refusal, a
// confirmed link or an expiry it moves (S20 wants each of them to read as an unknown user's poll does).
// A check with a PIN reads the whole subject, for the challenge's PIN hash and the user's memorized one.
// Through the server on SQLite a read costs about 0.4 µs of CPU a column, and the whole subject has 58 of
// them against the view's 21 (bench/README.md, "HTTP polls").

/** A challenge as the view has it: what a check without a PIN answers and moves it by. */
export type ViewedChallenge = NonNullable<PollView['challenge']>

/**
 * The current challenge as `check` works on it: the view's for a poll, the whole row (and the user's
 * memorized PIN) for a check that carries a PIN. Narrowing on `pin` gives the PIN branches the row.
 */
export type CheckedChallenge =
  | { readonly pin: null; readonly row: ViewedChallenge }
  | { readonly pin: string | number; readonly row: ChallengeRow; readonly memorizedPinHash: string | null }

/** `resolveLogin`'s subject narrowed to a poll's view: what `pollLogin` must answer. */
export function pollViewOf(subject: LoginSubject | null): PollView | null {
  if (!subject) return null
  const { system, user, challenge } = subject
  return {
    settings: subject.account.settings,
    system: system && { id: system.id, policies: system.policies },
    user: user && {
      id: user.id,
      status: user.status,
      failureStreak: user.failureStreak,
      retryAfter: user.retryAfter,
    },
    assigned: subject.assignment !== null,
    challenge: challenge && {
      id: challenge.id,
      accountId: challenge.accountId,
      systemName: challenge.systemName,
      authid: challenge.authid,
      method: challenge.method,
      channel: challenge.channel,
      status: challenge.status,
      attempts: challenge.attempts,
      expiresAt: challenge.expiresAt,
      outcomeReported: challenge.outcomeReported,
      extraLayer: challenge.extraLayer,
      deliveryId: challenge.deliveryId,
      delivery: challenge.delivery,
    },
  }
}

/** A login as `check` reads it: the view, and its current challenge as the check works on it. */
export interface CheckSubject {
  readonly view: PollView
  readonly current: CheckedChallenge | null
}

/** Reads the login of (system, authid) for a `check` carrying `pin`; an unknown account is a caller's bug. */
export async function readCheckSubject(
  ctx: EngineContext,
  accountId: string,
  systemName: string,
  authid: string,
  pin: string | number | null,
): Promise<CheckSubject> {
  const { logins } = ctx.storage
  if (pin === null && logins.pollLogin) {
    const view = await logins.pollLogin(accountId, systemName, authid)
    if (!view) throw new NotFoundError('account', accountId)
    return { view, current: view.challenge && { pin, row: view.challenge } }
  }
  const subject = await logins.resolveLogin(accountId, systemName, authid)
  const view = pollViewOf(subject)
  if (!subject || !view) throw new NotFoundError('account', accountId)
  const row = subject.challenge
  const memorizedPinHash = subject.user?.memorizedPinHash ?? null
  return {
    view,
    current: row && (pin === null ? { pin, row } : { pin, row, memorizedPinHash }),
  }
}

/** The same challenge read again after it moved under the check, as the check works on it. */
export function reread(current: CheckedChallenge, row: ChallengeRow | null): CheckedChallenge | null {
  if (!row) return null
  return current.pin === null ? { pin: null, row } : { ...current, row }
}
