import { describe, expect, it } from 'vitest'
import { type StorageFixture, T0 } from './storage-fixture.js'

/** LoginStore: the send limits `issueChallenge` takes, all or none. Run inside the `logins` cases. */
export function sendLimitCases(f: StorageFixture): void {
  describe('send limits', () => {
    const limit = { key: 'user:x', limit: 2, windowMs: 60_000 }

    it('issues within a limit, then refuses with the window’s end and changes nothing', async () => {
      await f.assign()
      const outcomes = []
      for (let i = 0; i < 3; i++)
        outcomes.push(await f.storage.logins.issueChallenge(f.challenge({ createdAt: T0 + i }), [], [limit]))
      expect(outcomes).toEqual([
        { issued: true },
        { issued: true },
        { issued: false, reason: 'rate_limited', key: 'user:x', retryAfter: T0 + 60_000 },
      ])
      const current = (await f.storage.logins.resolveLogin(f.accountId, 'payroll', 'alice'))?.challenge
      expect(current?.createdAt).toBe(T0 + 1)
    })

    it('spends no limit when another limit refuses', async () => {
      await f.assign()
      const other = { key: 'account:x', limit: 1, windowMs: 60_000 }
      await f.storage.logins.issueChallenge(f.challenge(), [], [other])
      expect(await f.storage.logins.issueChallenge(f.challenge(), [], [limit, other])).toMatchObject({
        issued: false,
        key: 'account:x',
      })
      expect(await f.storage.logins.issueChallenge(f.challenge(), [], [limit])).toEqual({ issued: true })
      expect(await f.storage.logins.issueChallenge(f.challenge(), [], [limit])).toEqual({ issued: true })
    })

    it('starts a new window when the old one ends, and sweeps ended windows', async () => {
      await f.assign()
      await f.storage.logins.issueChallenge(f.challenge({ createdAt: T0 }), [], [limit])
      await f.storage.logins.issueChallenge(f.challenge({ createdAt: T0 }), [], [limit])
      expect(
        await f.storage.logins.issueChallenge(f.challenge({ createdAt: T0 + 60_000 }), [], [limit]),
      ).toEqual({
        issued: true,
      })
      expect(await f.storage.logins.sweepRateLimits(T0 + 60_000)).toBe(0)
      expect(await f.storage.logins.sweepRateLimits(T0 + 120_000)).toBe(1)
    })

    it('holds each counter to its own limit when a start takes several', async () => {
      await f.assign()
      const shared = { key: 'account:x', limit: 100, windowMs: 60_000 }
      // The tight limit first, then last among the specific ones: a statement that took several counters
      // at once and applied one counter's limit to all would let the second start through in one case.
      for (const [tight, ...loose] of [
        ['user:a', 'dest:a', 'key:a'],
        ['dest:b', 'user:b', 'key:b'],
      ] as const) {
        const limits = (order: string[]) =>
          order.map((key) => ({ key, limit: key === tight ? 1 : 3, windowMs: 60_000 }))
        expect(
          await f.storage.logins.issueChallenge(f.challenge(), [], [...limits([tight, ...loose]), shared]),
        ).toEqual({
          issued: true,
        })
        expect(
          await f.storage.logins.issueChallenge(f.challenge(), [], [...limits([...loose, tight]), shared]),
        ).toMatchObject({ issued: false, key: tight })
      }
    })

    it('never issues more than the limit to concurrent starts taking several counters', async () => {
      await f.assign()
      const limits = [
        { key: 'user:x', limit: 2, windowMs: 60_000 },
        { key: 'dest:x', limit: 100, windowMs: 60_000 },
        { key: 'key:x', limit: 100, windowMs: 60_000 },
        { key: 'account:x', limit: 3, windowMs: 60_000 },
      ]
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, () => f.storage.logins.issueChallenge(f.challenge(), [], limits)),
      )
      expect(outcomes.filter((o) => o.issued)).toHaveLength(2)
      // The refused starts spent nothing: the account counter took exactly the two, so one more fits.
      const another = [{ key: 'user:y', limit: 2, windowMs: 60_000 }, limits[1], limits[2], limits[3]]
      expect(await f.storage.logins.issueChallenge(f.challenge(), [], another as typeof limits)).toEqual({
        issued: true,
      })
      expect(
        await f.storage.logins.issueChallenge(f.challenge(), [], another as typeof limits),
      ).toMatchObject({
        issued: false,
        key: 'account:x',
      })
    })

    it('never issues more than the limit to concurrent starts', async () => {
      await f.assign()
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, () => f.storage.logins.issueChallenge(f.challenge(), [], [limit])),
      )
      expect(outcomes.filter((o) => o.issued)).toHaveLength(2)
    })
  })
}
