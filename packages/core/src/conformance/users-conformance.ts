import { describe, expect, it } from 'vitest'
import { ConflictError } from '../domain/errors.js'
import { newId } from '../domain/secrets.js'
import { exactIdentifierUserCases } from './retention-conformance.js'
import { draft, freshStorage, type StoreSuite, T0 } from './storage-fixture.js'

/**
 * The UserStore contract: users, their assignments, failure streaks, lock and memorized PIN. Seeds
 * the account, `payroll` and `alice`.
 */
export function userCases(suite: StoreSuite): void {
  suite.describeStore('users', () => {
    const f = freshStorage(suite.options, 'user')

    it('refuses a duplicate authid with ConflictError and updates a user', async () => {
      await expect(f.storage.users.insertUser({ ...f.user, id: newId() }, [])).rejects.toBeInstanceOf(
        ConflictError,
      )
      const changed = {
        ...f.user,
        email: null,
        phone: '+14155552671',
        status: 'disabled' as const,
        updatedAt: T0 + 5,
      }
      await f.storage.users.updateUser(changed, [])
      expect(await f.storage.users.getUser(f.accountId, 'alice')).toEqual(changed)
    })

    it('pages users by authid', async () => {
      for (const authid of ['carol', 'bob', 'dave'])
        await f.storage.users.insertUser({ ...f.user, id: newId(), authid }, [])
      const first = await f.storage.users.listUsers(f.accountId, { limit: 2 })
      expect(first.map((u) => u.authid)).toEqual(['alice', 'bob'])
      const next = await f.storage.users.listUsers(f.accountId, { afterAuthid: 'bob', limit: 10 })
      expect(next.map((u) => u.authid)).toEqual(['carol', 'dave'])
    })

    it('saves several assignments at once and replaces one’s method', async () => {
      const crm = { ...f.system, id: newId(), name: 'crm' }
      await f.storage.systems.insertSystem(crm, [])
      await f.storage.users.saveAssignments(
        f.user.id,
        [
          { systemId: f.system.id, method: 'pin', channel: 'email' },
          { systemId: crm.id, method: 'passwordless', channel: null },
        ],
        [],
      )
      await f.storage.users.saveAssignments(
        f.user.id,
        [{ systemId: crm.id, method: 'pin', channel: null }],
        [],
      )
      const rows = await f.storage.users.listAssignments(f.user.id)
      expect(rows.map((a) => [a.systemId, a.method, a.channel]).sort()).toEqual(
        [
          [f.system.id, 'pin', 'email'],
          [crm.id, 'pin', null],
        ].sort(),
      )
    })

    it('reads back a user’s attributes', async () => {
      expect(await f.storage.users.getUser(f.accountId, 'alice')).toEqual(f.user)
    })

    suite.itReading(
      ['logins', 'audit'],
      'removes a user with assignments and challenges, keeping the audit trail',
      async () => {
        const row = await f.issued()
        await f.storage.audit.appendAudit([draft(f.accountId, 'before')])
        expect(await f.storage.users.removeUser(f.user.id, [draft(f.accountId, 'user.removed')])).toBe(true)
        expect(await f.storage.users.getUser(f.accountId, 'alice')).toBeNull()
        expect(await f.storage.logins.getChallenge(row.id)).toBeNull()
        expect(await f.storage.users.listAssignments(f.user.id)).toEqual([])
        expect(
          (await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })).map((e) => e.type),
        ).toEqual(['before', 'user.removed'])
        expect(await f.storage.users.removeUser(f.user.id, [])).toBe(false)
      },
    )

    suite.itReading(['audit'], 'sets and clears a memorized PIN hash, audited', async () => {
      await f.storage.users.setMemorizedPin(f.user.id, '$argon2id$hash', T0 + 1, [
        draft(f.accountId, 'user.pin.set'),
      ])
      expect((await f.storage.users.getUser(f.accountId, 'alice'))?.memorizedPinHash).toBe('$argon2id$hash')
      await f.storage.users.setMemorizedPin(f.user.id, null, T0 + 2, [])
      expect((await f.storage.users.getUser(f.accountId, 'alice'))?.memorizedPinHash).toBeNull()
      expect(
        (await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })).map((e) => e.type),
      ).toEqual(['user.pin.set'])
    })

    it('stamps a memorized PIN change with the time it is given, with no audit event to take one from', async () => {
      await f.storage.users.setMemorizedPin(f.user.id, '$argon2id$hash', T0 + 7_000, [])
      expect(await f.storage.users.getUser(f.accountId, 'alice')).toMatchObject({
        memorizedPinHash: '$argon2id$hash',
        updatedAt: T0 + 7_000,
      })
      await f.storage.users.setMemorizedPin(f.user.id, null, T0 + 8_000, [])
      expect(await f.storage.users.getUser(f.accountId, 'alice')).toMatchObject({
        memorizedPinHash: null,
        updatedAt: T0 + 8_000,
      })
    })

    describe('failure streaks and the lock', () => {
      const decide = (streak: number) => ({
        retryAfter: streak >= 2 ? T0 + streak * 1000 : null,
        lock: streak >= 4,
      })
      const lockAudit = (streak: number) => draft(f.accountId, 'user.locked', { details: { streak } })

      suite.itReading(
        ['audit'],
        'counts consecutive failures, sets delays that never shrink, and locks',
        async () => {
          const results = []
          for (let i = 0; i < 4; i++)
            results.push(
              await f.storage.users.recordFailure(
                f.user.id,
                T0 + 10,
                decide,
                [draft(f.accountId, 'f')],
                lockAudit,
              ),
            )
          expect(results).toEqual([
            { streak: 1, locked: false },
            { streak: 2, locked: false },
            { streak: 3, locked: false },
            { streak: 4, locked: true },
          ])
          expect(await f.storage.users.getUser(f.accountId, 'alice')).toMatchObject({
            failureStreak: 4,
            retryAfter: T0 + 4000,
            status: 'locked',
          })
          await f.storage.users.recordFailure(
            f.user.id,
            T0 + 20,
            () => ({ retryAfter: T0 + 1, lock: false }),
            [],
            lockAudit,
          )
          expect((await f.storage.users.getUser(f.accountId, 'alice'))?.retryAfter).toBe(T0 + 4000)
          expect(
            (await f.storage.audit.listAudit({ accountId: f.accountId, limit: 100 })).map((e) => e.type),
          ).toEqual(['f', 'f', 'f', 'f', 'user.locked'])
        },
      )

      it('stamps the user with the failure time it is given, with or without audit events', async () => {
        // A burned challenge records a failure with no audit event of its own: the time still comes
        // from the caller (it once came from the first draft, and a failure without one wrote 1970).
        await f.storage.users.recordFailure(f.user.id, T0 + 5000, decide, [], lockAudit)
        expect((await f.storage.users.getUser(f.accountId, 'alice'))?.updatedAt).toBe(T0 + 5000)
        await f.storage.users.recordFailure(
          f.user.id,
          T0 + 6000,
          decide,
          [draft(f.accountId, 'f')],
          lockAudit,
        )
        expect((await f.storage.users.getUser(f.accountId, 'alice'))?.updatedAt).toBe(T0 + 6000)
      })

      it('counts every one of many concurrent failures', async () => {
        await Promise.all(
          Array.from({ length: 20 }, () =>
            f.storage.users.recordFailure(
              f.user.id,
              T0 + 30,
              () => ({ retryAfter: null, lock: false }),
              [],
              lockAudit,
            ),
          ),
        )
        expect((await f.storage.users.getUser(f.accountId, 'alice'))?.failureStreak).toBe(20)
      })

      it('unlocks a locked user and says whether it was locked', async () => {
        for (let i = 0; i < 4; i++)
          await f.storage.users.recordFailure(f.user.id, T0 + 40, decide, [], lockAudit)
        expect(
          await f.storage.users.unlockUser(f.user.id, T0 + 1, [draft(f.accountId, 'user.unlocked')]),
        ).toBe(true)
        expect(await f.storage.users.getUser(f.accountId, 'alice')).toMatchObject({
          status: 'active',
          failureStreak: 0,
          retryAfter: null,
        })
        expect(await f.storage.users.unlockUser(f.user.id, T0 + 2, [])).toBe(false)
      })

      it('stamps an unlock with the time it is given, with no audit event to take one from', async () => {
        for (let i = 0; i < 4; i++)
          await f.storage.users.recordFailure(f.user.id, T0 + 40, decide, [], lockAudit)
        expect(await f.storage.users.unlockUser(f.user.id, T0 + 7_000, [])).toBe(true)
        expect(await f.storage.users.getUser(f.accountId, 'alice')).toMatchObject({
          status: 'active',
          updatedAt: T0 + 7_000,
        })
        // A user who was not locked has their streak cleared, at the time given too.
        await f.storage.users.recordFailure(f.user.id, T0 + 8_000, decide, [], lockAudit)
        expect(await f.storage.users.unlockUser(f.user.id, T0 + 9_000, [])).toBe(false)
        expect(await f.storage.users.getUser(f.accountId, 'alice')).toMatchObject({
          failureStreak: 0,
          updatedAt: T0 + 9_000,
        })
      })
    })

    exactIdentifierUserCases(suite, f)
  })
}
