import { describe, expect, it } from 'vitest'
import { newId } from '../domain/secrets.js'
import type { DeliveryRow, SystemRow } from '../ports/storage.js'
import {
  draft,
  inspectorOf,
  NEEDS_INSPECTOR,
  type StorageFixture,
  type StoreSuite,
  T0,
} from './storage-fixture.js'

// S38 and S35 for every storage: identifiers match exactly (no case, accent or trailing-space folding,
// which MySQL's default collations do), and ended challenges are purged with their deliveries in
// bounded batches. The cases run with the store they check: `logins` or `users`.

const LOOKALIKES = ['ALICE', 'Alice', 'Alice ', 'alice ', ' alice', 'ÁLICE', 'álice', 'alicé']

const assignTo = async (f: StorageFixture, system: SystemRow) =>
  f.storage.users.saveAssignments(
    f.user.id,
    [{ systemId: system.id, method: 'passwordless', channel: null }],
    [],
  )

const otherSystem = async (f: StorageFixture, name: string) => {
  const row = { ...f.system, id: newId(), name }
  await f.storage.systems.insertSystem(row, [])
  await assignTo(f, row)
  return row
}

/** S38 for logins: a login finds its system and user by their exact names only. */
export function exactIdentifierLoginCases(f: StorageFixture): void {
  describe('identifiers match exactly (S38)', () => {
    it('never finds alice’s user, assignment or challenge as ALICE, `Alice `, ÁLICE or the like', async () => {
      await assignTo(f, f.system)
      const row = f.challenge()
      expect(await f.storage.logins.issueChallenge(row, [], [])).toEqual({ issued: true })
      expect((await f.storage.logins.resolveLogin(f.accountId, 'payroll', 'alice'))?.challenge?.id).toBe(
        row.id,
      )
      for (const authid of LOOKALIKES) {
        const subject = await f.storage.logins.resolveLogin(f.accountId, 'payroll', authid)
        expect([authid, subject?.user, subject?.assignment, subject?.challenge]).toEqual([
          authid,
          null,
          null,
          null,
        ])
        expect([authid, await f.storage.users.getUser(f.accountId, authid)]).toEqual([authid, null])
      }
    })

    it('never finds a system under another case, accent or trailing space', async () => {
      for (const name of ['PAYROLL', 'Payroll', 'payroll ', 'páyroll']) {
        expect([name, (await f.storage.logins.resolveLogin(f.accountId, name, 'alice'))?.system]).toEqual([
          name,
          null,
        ])
        expect([name, await f.storage.systems.getSystem(f.accountId, name)]).toEqual([name, null])
      }
    })
  })
}

/** S38 for users: `ALICE` and `alice ` are users of their own, and the audit filters by the exact authid. */
export function exactIdentifierUserCases(suite: StoreSuite, f: StorageFixture): void {
  describe('identifiers match exactly (S38)', () => {
    suite.itReading(
      ['audit'],
      'keeps ALICE and `alice ` as users of their own, and filters the audit by the exact authid',
      async () => {
        for (const authid of ['ALICE', 'alice ']) {
          const id = newId()
          await f.storage.users.insertUser({ ...f.user, id, authid }, [])
          expect((await f.storage.users.getUser(f.accountId, authid))?.id).toBe(id)
        }
        expect((await f.storage.users.getUser(f.accountId, 'alice'))?.id).toBe(f.user.id)
        await f.storage.audit.appendAudit([
          draft(f.accountId, 'challenge.started', { authid: 'alice', system: 'payroll' }),
        ])
        expect(
          await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10, authid: 'ALICE' }),
        ).toEqual([])
        expect(
          await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10, system: 'Payroll' }),
        ).toEqual([])
        expect(
          await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10, authid: 'alice' }),
        ).toHaveLength(1)
      },
    )
  })
}

/** S35: ended challenges go, with their deliveries, in bounded batches; live ones and the audit stay. */
export function retentionCases(suite: StoreSuite, f: StorageFixture): void {
  describe('purgeEndedChallenges (S35)', () => {
    suite.itReading(
      ['audit'],
      `deletes ended challenges past the cutoff with their deliveries, in batches, keeping live ones and the audit ${NEEDS_INSPECTOR}`,
      async (context) => {
        const inspector = inspectorOf(f.storage, context)
        const t0 = T0
        await assignTo(f, f.system)
        // Ended long ago: superseded (with a delivery), and the authenticated one that superseded it.
        const old = f.challenge({ expiresAt: t0 + 1000 })
        const sent: DeliveryRow = {
          id: newId(),
          accountId: f.accountId,
          challengeId: old.id,
          channel: 'email',
          destination: 'a***@example.com',
          status: 'sent',
          attempts: 1,
          nextAttemptAt: t0,
          claimedUntil: null,
          providerId: 'p-1',
          lastError: null,
          payload: null,
          createdAt: t0,
          updatedAt: t0,
          expiresAt: old.expiresAt,
          fallbackOf: null,
        }
        await f.storage.logins.issueChallenge({ ...old, deliveryId: sent.id }, [], [], [sent])
        const winner = f.challenge({ expiresAt: t0 + 1000 })
        await f.storage.logins.issueChallenge(winner, [], [])
        expect(
          await f.storage.logins.transitionChallenge(
            { id: winner.id, from: ['pending'], to: 'authenticated', at: t0 + 10, reported: true },
            [],
          ),
        ).toBe(true)
        // Past its expiry but still pending (not swept yet): not ended, so it stays.
        const crm = await otherSystem(f, 'crm')
        const live = f.challenge({ systemId: crm.id, systemName: 'crm', expiresAt: t0 + 1000 })
        await f.storage.logins.issueChallenge(live, [], [])
        // Ended, but after the cutoff.
        const hr = await otherSystem(f, 'hr')
        const recent = f.challenge({ systemId: hr.id, systemName: 'hr', expiresAt: t0 + 5000 })
        await f.storage.logins.issueChallenge(recent, [], [])
        await f.storage.logins.transitionChallenge(
          { id: recent.id, from: ['pending'], to: 'failed', at: t0 + 20, reported: true },
          [],
        )
        await f.storage.audit.appendAudit([draft(f.accountId, 'challenge.started', { challengeId: old.id })])

        const cutoff = t0 + 2000
        expect(await f.storage.logins.purgeEndedChallenges(cutoff, 1)).toBe(1)
        expect(await f.storage.logins.purgeEndedChallenges(cutoff, 1)).toBe(1)
        expect(await f.storage.logins.purgeEndedChallenges(cutoff, 1)).toBe(0)

        expect(await f.storage.logins.getChallenge(old.id)).toBeNull()
        expect(await f.storage.logins.getChallenge(winner.id)).toBeNull()
        expect(await inspector.listDeliveries(old.id)).toEqual([])
        expect((await f.storage.logins.getChallenge(live.id))?.status).toBe('pending')
        expect((await f.storage.logins.getChallenge(recent.id))?.status).toBe('failed')
        expect(
          (await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })).map((e) => e.challengeId),
        ).toEqual([old.id])
        // The assignment's pointer to a purged challenge reads as no challenge.
        expect((await f.storage.logins.resolveLogin(f.accountId, 'payroll', 'alice'))?.challenge).toBeNull()
      },
    )
  })
}
