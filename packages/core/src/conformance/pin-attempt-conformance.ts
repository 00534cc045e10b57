import { describe, expect, it } from 'vitest'
import type { ChallengeRow, PinAcceptance, PinRejection } from '../ports/storage.js'
import { draft, type StorageFixture, type StoreSuite, T0 } from './storage-fixture.js'

/**
 * LoginStore's optional `settlePinAttempt`: a PIN verified before its attempt is taken, settled in one
 * transaction, right (the move) or wrong (the failure, and the burn on the last attempt). Run inside the
 * `logins` cases, on their fixture; each case skips itself on a store without it.
 */
export function pinAttemptCases(suite: StoreSuite, f: StorageFixture): void {
  describe('settlePinAttempt (optional: each case skips itself on a store without it)', () => {
    const pinChallenge = (fields: Partial<ChallengeRow> = {}) =>
      f.issued({ method: 'pin', linkHash: null, pinHash: 'h', pinLength: 8, maxAttempts: 3, ...fields })
    const accept = (id: string, at: number, resetFailuresOf?: string): PinAcceptance => ({
      right: true,
      move: { id, from: ['pending'], to: 'authenticated', at, reported: true },
      audit: [draft(f.accountId, 'challenge.checked', { challengeId: id })],
      ...(resetFailuresOf ? { resetFailuresOf } : {}),
    })
    /** A wrong PIN: the delay grows a second a failure, and the `lockAt`th failure locks. */
    const reject = (id: string, at: number, lockAt = 100): PinRejection => ({
      right: false,
      burn: { id, from: ['pending'], to: 'failed', at, reported: true },
      audit: (attempts) => [
        draft(f.accountId, 'challenge.checked', { challengeId: id, outcome: 'wrong', details: { attempts } }),
      ],
      failure: {
        userId: f.user.id,
        at,
        decide: (streak) => ({ retryAfter: at + 1000 * streak, lock: streak >= lockAt }),
        lockAudit: (streak) => draft(f.accountId, 'user.locked', { details: { streak } }),
      },
    })
    const settle = (context: { skip: (note: string) => never }) => {
      const settlePinAttempt = f.storage.logins.settlePinAttempt
      if (!settlePinAttempt) return context.skip('the store has no settlePinAttempt')
      return settlePinAttempt.bind(f.storage.logins)
    }
    const trail = async () =>
      (await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })).map((e) => [e.type, e.details])

    suite.itReading(
      ['audit', 'users'],
      'takes the attempt and makes the move in one write, with its audit and the failure reset',
      async (context) => {
        const take = settle(context)
        const row = await pinChallenge()
        expect(await f.storage.logins.reserveAttempt(row.id, T0)).toBe(1)
        const decide = () => ({ retryAfter: T0 + 5000, lock: false })
        await f.storage.users.recordFailure(f.user.id, T0, decide, [], () => draft(f.accountId, 'locked'))
        expect(await take(row.id, T0 + 7, 'pending', accept(row.id, T0 + 7, f.user.id))).toBe(2)
        expect(await f.storage.logins.getChallenge(row.id)).toMatchObject({
          status: 'authenticated',
          attempts: 2,
          completedAt: T0 + 7,
          outcomeReported: true,
        })
        expect(await trail()).toEqual([['challenge.checked', null]])
        expect(await f.storage.users.getUser(f.accountId, 'alice')).toMatchObject({
          failureStreak: 0,
          retryAfter: null,
        })
      },
    )

    suite.itReading(
      ['audit', 'users'],
      "counts a wrong PIN's failure with its attempt, burns the challenge on its last, and changes nothing past it",
      async (context) => {
        const take = settle(context)
        const row = await pinChallenge({ maxAttempts: 2 })
        expect(await take(row.id, T0 + 1, 'pending', reject(row.id, T0 + 1))).toBe(1)
        expect(await f.storage.logins.getChallenge(row.id)).toMatchObject({
          status: 'pending',
          attempts: 1,
          completedAt: null,
          outcomeReported: false,
        })
        expect(await f.storage.users.getUser(f.accountId, 'alice')).toMatchObject({
          failureStreak: 1,
          retryAfter: T0 + 1001,
          status: 'active',
        })
        // The last attempt: burnt, the failure counted, the guess audited once (here, the lock too).
        expect(await take(row.id, T0 + 2, 'pending', reject(row.id, T0 + 2, 2))).toBe(2)
        expect(await f.storage.logins.getChallenge(row.id)).toMatchObject({
          status: 'failed',
          attempts: 2,
          completedAt: T0 + 2,
          outcomeReported: true,
        })
        expect(await f.storage.users.getUser(f.accountId, 'alice')).toMatchObject({
          failureStreak: 2,
          retryAfter: T0 + 2002,
          status: 'locked',
        })
        // No attempt left: nothing is written, right or wrong.
        expect(await take(row.id, T0 + 3, 'pending', reject(row.id, T0 + 3))).toBeNull()
        expect(await take(row.id, T0 + 3, 'pending', accept(row.id, T0 + 3, f.user.id))).toBeNull()
        expect(await f.storage.users.getUser(f.accountId, 'alice')).toMatchObject({
          failureStreak: 2,
          status: 'locked',
        })
        expect(await trail()).toEqual([
          ['challenge.checked', { attempts: 1 }],
          ['challenge.checked', { attempts: 2 }],
          ['user.locked', { streak: 2 }],
        ])
      },
    )

    suite.itReading(
      ['users'],
      'refuses an expired challenge, another status, or one whose outcome was reported',
      async (context) => {
        const take = settle(context)
        const expiring = await pinChallenge({ expiresAt: T0 + 1000 })
        expect(await take(expiring.id, T0 + 1000, 'pending', accept(expiring.id, T0 + 1000))).toBeNull()
        expect(await take(expiring.id, T0 + 1000, 'pending', reject(expiring.id, T0 + 1000))).toBeNull()
        expect(await take(expiring.id, T0 + 999, 'confirmed', reject(expiring.id, T0 + 999))).toBeNull()
        expect((await f.storage.logins.getChallenge(expiring.id))?.attempts).toBe(0)
        const done = await pinChallenge()
        expect(await take(done.id, T0, 'pending', accept(done.id, T0))).toBe(1)
        expect(await take(done.id, T0, 'pending', accept(done.id, T0))).toBeNull()
        expect(await take(done.id, T0, 'pending', reject(done.id, T0))).toBeNull()
        expect((await f.storage.logins.getChallenge(done.id))?.attempts).toBe(1)
        // Still pending, but its outcome was reported: nothing more is taken from it.
        const reported = await pinChallenge()
        await f.storage.logins.transitionChallenge(
          { id: reported.id, from: ['pending'], to: 'pending', at: T0, reported: true },
          [],
        )
        expect(await take(reported.id, T0, 'pending', accept(reported.id, T0))).toBeNull()
        expect(await take(reported.id, T0, 'pending', reject(reported.id, T0))).toBeNull()
        expect(await f.storage.logins.getChallenge(reported.id)).toMatchObject({
          status: 'pending',
          attempts: 0,
        })
        expect((await f.storage.users.getUser(f.accountId, 'alice'))?.failureStreak).toBe(0)
      },
    )

    suite.itReading(
      ['users'],
      "counts a wrong PIN's failure as recordFailure does: a delay never shortened, the time stamped",
      async (context) => {
        const take = settle(context)
        const row = await pinChallenge()
        const later = (at: number, retryAfter: number | null): PinRejection => ({
          ...reject(row.id, at),
          failure: { ...reject(row.id, at).failure, decide: () => ({ retryAfter, lock: false }) },
        })
        expect(await take(row.id, T0 + 10, 'pending', later(T0 + 10, T0 + 60_000))).toBe(1)
        expect(await take(row.id, T0 + 20, 'pending', later(T0 + 20, T0 + 30_000))).toBe(2)
        expect(await f.storage.users.getUser(f.accountId, 'alice')).toMatchObject({
          failureStreak: 2,
          retryAfter: T0 + 60_000,
          updatedAt: T0 + 20,
        })
        expect(await take(row.id, T0 + 30, 'pending', later(T0 + 30, null))).toBe(3)
        expect(await f.storage.users.getUser(f.accountId, 'alice')).toMatchObject({
          failureStreak: 3,
          retryAfter: T0 + 60_000,
        })
      },
    )

    it('lets exactly one of 50 concurrent right PINs win, taking one attempt (optional: skipped on a store without it)', async (context) => {
      const take = settle(context)
      const row = await pinChallenge({ maxAttempts: 5 })
      const taken = await Promise.all(
        Array.from({ length: 50 }, () => take(row.id, T0, 'pending', accept(row.id, T0))),
      )
      expect(taken.filter((n) => n !== null)).toEqual([1])
      expect(await f.storage.logins.getChallenge(row.id)).toMatchObject({
        status: 'authenticated',
        attempts: 1,
      })
    })

    suite.itReading(
      ['audit', 'users'],
      'counts a failure and one audit for each of 50 concurrent wrong PINs that took an attempt, and no more',
      async (context) => {
        const take = settle(context)
        const row = await pinChallenge({ maxAttempts: 5 })
        const taken = await Promise.all(
          Array.from({ length: 50 }, (_, i) => take(row.id, T0 + i, 'pending', reject(row.id, T0 + i))),
        )
        expect(taken.filter((n) => n !== null).sort()).toEqual([1, 2, 3, 4, 5])
        expect(await f.storage.logins.getChallenge(row.id)).toMatchObject({ status: 'failed', attempts: 5 })
        expect((await f.storage.users.getUser(f.accountId, 'alice'))?.failureStreak).toBe(5)
        const audited = (await trail()).map(([, details]) => (details as { attempts: number }).attempts)
        expect(audited.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5])
      },
    )
  })
}
