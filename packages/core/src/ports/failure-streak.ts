import type { FailureToCount } from './login-store.js'
import type { UserRow } from './rows.js'

/**
 * A user row after one more consecutive failure (S17), for a storage that writes rows it computed (the SQL
 * storage computes the same in its statements): the streak one longer, the delay `decide` gives unless it
 * would shorten one already running, the lock when `decide` says so, `updatedAt` the failure's time.
 */
export function afterFailure(
  user: UserRow,
  failure: FailureToCount,
): { readonly row: UserRow; readonly streak: number; readonly locked: boolean } {
  const streak = user.failureStreak + 1
  const { retryAfter, lock } = failure.decide(streak)
  const kept =
    user.retryAfter === null || (retryAfter !== null && user.retryAfter < retryAfter)
      ? retryAfter
      : user.retryAfter
  return {
    row: {
      ...user,
      failureStreak: streak,
      retryAfter: kept,
      status: lock ? 'locked' : user.status,
      updatedAt: failure.at,
    },
    streak,
    locked: lock,
  }
}
