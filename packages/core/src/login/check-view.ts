import { NotFoundError } from '../domain/errors.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { ChallengeRow, LoginSubject, PollView } from '../ports/storage.js'

// What `check` reads: the login's narrow view first (`LoginStore.pollLogin`, where the storage has it),
// enough to answer a pending poll, a decoy's poll and every refusal (a user whose last login ended
// included: S20 wants it to read as an unknown one does); the whole challenge row only when check goes
// on to move it; a check with a PIN comes to move it and reads the whole subject at once. Through the
// server on SQLite a read costs about 0.4 µs of CPU a column, and the whole subject has 58 of them
// against the view's 21 (bench/README.md, "HTTP polls").

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
      memorizedPinHash: user.memorizedPinHash,
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
      deliveryId: challenge.deliveryId,
      delivery: challenge.delivery,
    },
  }
}

/** A login as `check` reads it: the view, and the whole current challenge when asked for. */
export interface CheckSubject {
  readonly view: PollView
  /** The view's challenge, whole, as it is now (read once more where the view came from `pollLogin`). */
  challengeRow(): Promise<ChallengeRow | null>
}

/**
 * Reads the login of (system, authid) for `check`; an unknown account is a caller's bug. `moves`: the
 * check comes to move the challenge (it carries a PIN), so the whole subject is read at once: one read
 * where the view and then the challenge would be two.
 */
export async function readCheckSubject(
  ctx: EngineContext,
  accountId: string,
  systemName: string,
  authid: string,
  moves: boolean,
): Promise<CheckSubject> {
  const { logins } = ctx.storage
  if (logins.pollLogin && !moves) {
    const view = await logins.pollLogin(accountId, systemName, authid)
    if (!view) throw new NotFoundError('account', accountId)
    const id = view.challenge?.id
    return { view, challengeRow: async () => (id === undefined ? null : logins.getChallenge(id)) }
  }
  const subject = await logins.resolveLogin(accountId, systemName, authid)
  const view = pollViewOf(subject)
  if (!subject || !view) throw new NotFoundError('account', accountId)
  return { view, challengeRow: async () => subject.challenge }
}
