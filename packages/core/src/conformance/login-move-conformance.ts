import { describe, expect, it } from 'vitest'
import { newId } from '../domain/secrets.js'
import { retentionCases } from './retention-conformance.js'
import { draft, type StorageFixture, type StoreSuite, T0 } from './storage-fixture.js'

/**
 * LoginStore: how a challenge moves once issued (transitions, expiry), what its end leaves for the
 * rules (history) and for retention. Run inside the `logins` cases, on their fixture.
 */
export function challengeMoveCases(suite: StoreSuite, f: StorageFixture): void {
  describe('transitionChallenge', () => {
    suite.itReading(
      ['audit'],
      'moves only from the listed statuses, writing audit only when it moves',
      async () => {
        const row = await f.issued()
        const audit = [draft(f.accountId, 'moved')]
        expect(
          await f.storage.logins.transitionChallenge(
            { id: row.id, from: ['confirmed'], to: 'authenticated', at: T0, reported: true },
            audit,
          ),
        ).toBe(false)
        expect(await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })).toEqual([])
        expect(
          await f.storage.logins.transitionChallenge(
            { id: row.id, from: ['pending', 'confirmed'], to: 'expired', at: T0 + 5, reported: false },
            audit,
          ),
        ).toBe(true)
        expect(await f.storage.logins.getChallenge(row.id)).toMatchObject({
          status: 'expired',
          completedAt: T0 + 5,
          outcomeReported: false,
        })
        expect(
          (await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })).map((e) => e.type),
        ).toEqual(['moved'])
      },
    )

    it('moves a challenge whose outcome was reported no further', async () => {
      const row = await f.issued()
      await f.storage.logins.transitionChallenge(
        { id: row.id, from: ['pending'], to: 'expired', at: T0, reported: false },
        [],
      )
      expect(
        await f.storage.logins.transitionChallenge(
          { id: row.id, from: ['expired'], to: 'expired', at: T0 + 9, reported: true },
          [],
        ),
      ).toBe(true)
      expect(
        await f.storage.logins.transitionChallenge(
          { id: row.id, from: ['expired'], to: 'expired', at: T0, reported: true },
          [],
        ),
      ).toBe(false)
      expect(await f.storage.logins.getChallenge(row.id)).toMatchObject({
        completedAt: T0,
        outcomeReported: true,
      })
    })

    it('lets exactly one of many concurrent moves win', async () => {
      const row = await f.issued()
      const moves = await Promise.all(
        Array.from({ length: 50 }, () =>
          f.storage.logins.transitionChallenge(
            { id: row.id, from: ['pending'], to: 'authenticated', at: T0, reported: true },
            [],
          ),
        ),
      )
      expect(moves.filter(Boolean)).toHaveLength(1)
    })

    it('resets the streak and delay with a successful transition', async () => {
      const decide = (streak: number) => ({
        retryAfter: streak >= 2 ? T0 + streak * 1000 : null,
        lock: streak >= 4,
      })
      const lockAudit = (streak: number) => draft(f.accountId, 'user.locked', { details: { streak } })
      const row = await f.issued()
      await f.storage.users.recordFailure(f.user.id, T0 + 40, decide, [], lockAudit)
      await f.storage.users.recordFailure(f.user.id, T0 + 40, decide, [], lockAudit)
      await f.storage.logins.transitionChallenge(
        { id: row.id, from: ['pending'], to: 'authenticated', at: T0, reported: true },
        [],
        f.user.id,
      )
      expect(await f.storage.users.getUser(f.accountId, 'alice')).toMatchObject({
        failureStreak: 0,
        retryAfter: null,
      })
    })
  })

  describe('expireDue', () => {
    const sweep = (at: number, limit = 10) =>
      f.storage.logins.expireDue(at, limit, (c) =>
        draft(f.accountId, 'challenge.expired', { challengeId: c.id }),
      )
    /** A second system the fixture's user is assigned to: a challenge there supersedes none on the first. */
    const secondSystem = async () => {
      const crm = { ...f.system, id: newId(), name: 'crm' }
      await f.storage.systems.insertSystem(crm, [])
      await f.storage.users.saveAssignments(
        f.user.id,
        [{ systemId: crm.id, method: 'passwordless', channel: null }],
        [],
      )
      return crm
    }

    suite.itReading(
      ['audit'],
      'expires live challenges that are due, audits each, and leaves the rest',
      async () => {
        const due = await f.issued({ expiresAt: T0 + 1000 })
        const crm = await secondSystem()
        const later = f.challenge({ systemId: crm.id, systemName: 'crm', expiresAt: T0 + 5000 })
        await f.storage.logins.issueChallenge(later, [], [])
        const expired = await sweep(T0 + 1000, 100)
        expect(expired.map((c) => [c.id, c.status])).toEqual([[due.id, 'expired']])
        expect((await f.storage.logins.getChallenge(later.id))?.status).toBe('pending')
        expect(
          (await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })).map((e) => e.challengeId),
        ).toEqual([due.id])
      },
    )

    it('takes at most `limit` challenges per call', async () => {
      for (let i = 0; i < 3; i++) {
        const s = { ...f.system, id: newId(), name: `s${i}` }
        await f.storage.systems.insertSystem(s, [])
        await f.storage.users.saveAssignments(
          f.user.id,
          [{ systemId: s.id, method: 'passwordless', channel: null }],
          [],
        )
        await f.storage.logins.issueChallenge(
          f.challenge({ systemId: s.id, systemName: s.name, expiresAt: T0 }),
          [],
          [],
        )
      }
      expect(await sweep(T0, 2)).toHaveLength(2)
      expect(await sweep(T0, 2)).toHaveLength(1)
      expect(await sweep(T0, 2)).toHaveLength(0)
    })

    it('stamps each expired challenge with the time it is given, not its audit event’s', async () => {
      const due = await f.issued({ expiresAt: T0 + 1000 })
      // The audit event is stamped T0 (`draft`): the expiry must not take its time from there.
      const [expired] = await sweep(T0 + 3000)
      expect(expired).toMatchObject({ id: due.id, status: 'expired', completedAt: T0 + 3000 })
      expect((await f.storage.logins.getChallenge(due.id))?.completedAt).toBe(T0 + 3000)
    })

    // A store may remember how far its sweeps got, to read only what expired since. Engines issue a
    // challenge at least 30 s before it expires, but a clock that went back can issue one that an
    // earlier sweep has already passed: it must still be found.
    it('expires a challenge issued with an expiry that an earlier sweep had already passed', async () => {
      const first = await f.issued({ expiresAt: T0 + 2000 })
      expect((await sweep(T0 + 3000)).map((c) => c.id)).toEqual([first.id])
      // Issued after that sweep, for another system, already due when the clock says T0 + 3000.
      const crm = await secondSystem()
      const behind = f.challenge({ systemId: crm.id, systemName: 'crm', expiresAt: T0 + 1000 })
      await f.storage.logins.issueChallenge(behind, [], [])
      // A sweep with a clock that went back further still takes nothing that is not due by it.
      expect(await sweep(T0 + 500)).toEqual([])
      expect((await sweep(T0 + 3000)).map((c) => [c.id, c.status])).toEqual([[behind.id, 'expired']])
    })

    it('finds challenges due later than a sweep that found none, and only once', async () => {
      expect(await sweep(T0 + 1000)).toEqual([])
      const row = await f.issued({ expiresAt: T0 + 5000 })
      expect(await sweep(T0 + 4999)).toEqual([])
      expect((await sweep(T0 + 5000)).map((c) => c.id)).toEqual([row.id])
      expect(await sweep(T0 + 9000)).toEqual([])
    })
  })

  describe('userHistory', () => {
    it('answers the last authenticated login and whether a device was in one', async () => {
      expect(await f.storage.logins.userHistory(f.user.id, 'device-a')).toEqual({
        lastSuccessAt: null,
        knownDevice: false,
      })
      const row = await f.issued({ device: 'device-a' })
      const move = {
        id: row.id,
        from: ['pending'] as const,
        to: 'authenticated' as const,
        at: T0 + 5,
        reported: true,
      }
      await f.storage.logins.transitionChallenge(move, [])
      expect(await f.storage.logins.userHistory(f.user.id, 'device-a')).toEqual({
        lastSuccessAt: T0 + 5,
        knownDevice: true,
      })
      expect(await f.storage.logins.userHistory(f.user.id, 'device-b')).toEqual({
        lastSuccessAt: T0 + 5,
        knownDevice: false,
      })
      expect(await f.storage.logins.userHistory(f.user.id, null)).toEqual({
        lastSuccessAt: T0 + 5,
        knownDevice: false,
      })
    })
  })

  retentionCases(suite, f)
}
