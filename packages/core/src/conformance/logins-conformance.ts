import { describe, expect, it } from 'vitest'
import { StorageError } from '../domain/errors.js'
import { newId } from '../domain/secrets.js'
import { pollViewOf } from '../login/check-view.js'
import { DEFAULT_SETTINGS } from '../policy/account-settings.js'
import type { ChallengeRow } from '../ports/storage.js'
import { completionCodeCases } from './completion-conformance.js'
import { challengeMoveCases } from './login-move-conformance.js'
import { pinAttemptCases } from './pin-attempt-conformance.js'
import { exactIdentifierLoginCases } from './retention-conformance.js'
import { sendLimitCases } from './send-limit-conformance.js'
import { draft, freshStorage, insertAccount, type StoreSuite, T0 } from './storage-fixture.js'

/**
 * The LoginStore contract: the joined read, issuing, confirming and attempts here; the moves of a
 * challenge, send limits and retention beside it. Seeds the account, `payroll` and `alice`; the cases
 * assign and issue through `users` and `logins`.
 */
export function loginCases(suite: StoreSuite): void {
  suite.describeStore('logins', () => {
    const f = freshStorage(suite.options, 'user')

    describe('resolveLogin', () => {
      it('answers null for an unknown account, and no system for an unknown system', async () => {
        expect(await f.storage.logins.resolveLogin('no-such-account', 'payroll', 'alice')).toBeNull()
        const subject = await f.storage.logins.resolveLogin(f.accountId, 'nope', 'alice')
        expect(subject?.account).toEqual({
          id: f.accountId,
          name: 'Acme',
          settings: DEFAULT_SETTINGS,
          createdAt: T0,
        })
        expect(subject?.system).toBeNull()
      })

      it('finds the system but no user for an unknown authid', async () => {
        const subject = await f.storage.logins.resolveLogin(f.accountId, 'payroll', 'nobody')
        expect(subject?.system).toEqual(f.system)
        expect(subject?.user).toBeNull()
      })

      it('finds the user but no assignment until one is saved', async () => {
        expect((await f.storage.logins.resolveLogin(f.accountId, 'payroll', 'alice'))?.assignment).toBeNull()
        await f.assign()
        const subject = await f.storage.logins.resolveLogin(f.accountId, 'payroll', 'alice')
        expect(subject?.user).toEqual(f.user)
        expect(subject?.assignment).toMatchObject({ method: 'passwordless', challengeId: null })
        expect(subject?.challenge).toBeNull()
      })

      it('never sees another account’s system or user', async () => {
        const other = await insertAccount(f.storage)
        const subject = await f.storage.logins.resolveLogin(other, 'payroll', 'alice')
        expect([subject?.system, subject?.user]).toEqual([null, null])
      })
    })

    describe('pollLogin (optional)', () => {
      /** The view of (system, authid) now, after checking that it agrees with the whole subject. */
      const agreed = async (system = 'payroll', authid = 'alice', accountId = f.accountId) => {
        const poll = f.storage.logins.pollLogin as NonNullable<typeof f.storage.logins.pollLogin>
        const view = await poll(accountId, system, authid)
        expect(view).toEqual(pollViewOf(await f.storage.logins.resolveLogin(accountId, system, authid)))
        return view
      }

      it('agrees with resolveLogin from an unknown account to a confirmed challenge (skipped where the storage has no pollLogin)', async (context) => {
        if (!f.storage.logins.pollLogin) return context.skip('the storage has no pollLogin')
        expect(await agreed('payroll', 'alice', 'no-such-account')).toBeNull()
        expect(await agreed('nope')).toMatchObject({ system: null, assigned: false, challenge: null })
        expect(await agreed('payroll', 'nobody')).toMatchObject({ system: { id: f.system.id }, user: null })
        expect(await agreed()).toMatchObject({ user: { id: f.user.id, status: 'active' }, assigned: false })
        await f.assign()
        expect(await agreed()).toMatchObject({ assigned: true, challenge: null })
        const row = await f.issued({ method: 'passwordless', extraLayer: 'memorized_pin' })
        // The layer still to come after the link: a poll answers `pending` for it, not `authenticated`.
        expect(await agreed()).toMatchObject({
          challenge: { id: row.id, status: 'pending', extraLayer: 'memorized_pin' },
        })
        const audit = (c: ChallengeRow) => draft(f.accountId, 'link.confirmed', { challengeId: c.id })
        await f.storage.logins.confirmLink(row.linkHash as string, T0 + 1000, audit)
        expect(await agreed()).toMatchObject({ challenge: { id: row.id, status: 'confirmed' } })
        await f.storage.logins.transitionChallenge(
          { id: row.id, from: ['confirmed'], to: 'authenticated', at: T0 + 1500, reported: true },
          [],
        )
        expect(await agreed()).toMatchObject({
          challenge: {
            status: 'authenticated',
            outcomeReported: true,
            systemName: 'payroll',
            authid: 'alice',
          },
        })
        // What check reads of the user and the account besides: the failure streak and the settings; never
        // a secret (a check with a PIN reads the whole subject for the memorized PIN's hash).
        const failure = () => ({ retryAfter: T0 + 5_000, lock: false })
        await f.storage.users.recordFailure(f.user.id, T0 + 2000, failure, [], () => draft(f.accountId, 'l'))
        await f.storage.users.setMemorizedPin(f.user.id, '$argon2id$hash', T0 + 3000, [])
        const withPin = await agreed()
        expect(withPin).toMatchObject({ user: { failureStreak: 1, retryAfter: T0 + 5_000 } })
        expect(JSON.stringify(withPin)).not.toContain('$argon2id$hash')
        await f.storage.accounts.updateAccountSettings(
          f.accountId,
          (s) => ({ ...s, uniformResponses: true }),
          () => [],
        )
        expect(await agreed()).toMatchObject({ settings: { uniformResponses: true } })
        await f.storage.users.updateUser({ ...f.user, status: 'disabled' }, [])
        expect(await agreed()).toMatchObject({ user: { status: 'disabled' } })
        // Another account's system and user of the same names stay out of it.
        expect(await agreed('payroll', 'alice', await insertAccount(f.storage))).toMatchObject({
          system: null,
          user: null,
        })
      })
    })

    describe('issueChallenge', () => {
      it('stores the challenge as the assignment’s current one, context included', async () => {
        const row = await f.issued()
        expect((await f.storage.logins.resolveLogin(f.accountId, 'payroll', 'alice'))?.challenge).toEqual(row)
        expect(await f.storage.logins.getChallenge(row.id)).toEqual(row)
        expect(await f.storage.logins.getChallengeByLinkHash(row.linkHash as string)).toEqual(row)
      })

      it('supersedes the live challenge it replaces, and only that pair’s', async () => {
        const crm = { ...f.system, id: newId(), name: 'crm' }
        await f.storage.systems.insertSystem(crm, [])
        await f.storage.users.saveAssignments(
          f.user.id,
          [{ systemId: crm.id, method: 'passwordless', channel: null }],
          [],
        )
        const elsewhere = f.challenge({ systemId: crm.id, systemName: 'crm' })
        await f.storage.logins.issueChallenge(elsewhere, [], [])
        const first = await f.issued()
        const second = f.challenge()
        expect(await f.storage.logins.issueChallenge(second, [], [])).toEqual({ issued: true })
        expect(await f.storage.logins.getChallenge(first.id)).toMatchObject({
          status: 'superseded',
          completedAt: second.createdAt,
        })
        expect((await f.storage.logins.getChallenge(elsewhere.id))?.status).toBe('pending')
        expect((await f.storage.logins.resolveLogin(f.accountId, 'payroll', 'alice'))?.challenge?.id).toBe(
          second.id,
        )
      })

      suite.itReading(
        ['audit'],
        'changes nothing and answers false when the user is not assigned',
        async () => {
          const row = f.challenge()
          expect(
            await f.storage.logins.issueChallenge(row, [draft(f.accountId, 'challenge.started')], []),
          ).toEqual({
            issued: false,
            reason: 'not_assigned',
          })
          expect(await f.storage.logins.getChallenge(row.id)).toBeNull()
          expect(await f.storage.audit.listAudit({ accountId: f.accountId, limit: 100 })).toEqual([])
        },
      )

      it('leaves nothing behind when a write late in its transaction fails', async () => {
        await f.assign()
        const limit = { key: 'user:x', limit: 1, windowMs: 60_000 }
        const row = f.challenge()
        // The audit event names an account without a chain: the last write fails, after all the others.
        await expect(
          f.storage.logins.issueChallenge(row, [draft('no-such-account', 'challenge.started')], [limit]),
        ).rejects.toBeInstanceOf(StorageError)
        expect(await f.storage.logins.getChallenge(row.id)).toBeNull()
        expect(
          (await f.storage.logins.resolveLogin(f.accountId, 'payroll', 'alice'))?.assignment?.challengeId,
        ).toBeNull()
        expect(await f.storage.logins.issueChallenge(f.challenge(), [], [limit])).toEqual({ issued: true })
      })

      it('leaves one live challenge after many concurrent issues for one pair', async () => {
        await f.assign()
        const rows = Array.from({ length: 20 }, () => f.challenge())
        expect(await Promise.all(rows.map((row) => f.storage.logins.issueChallenge(row, [], [])))).toEqual(
          rows.map(() => ({ issued: true })),
        )
        const statuses = await Promise.all(
          rows.map(async (row) => (await f.storage.logins.getChallenge(row.id))?.status),
        )
        expect(statuses.filter((status) => status === 'pending')).toHaveLength(1)
      })
    })

    describe('confirmLink', () => {
      suite.itReading(['audit'], 'confirms a pending link once and writes its audit event', async () => {
        const row = await f.issued()
        const audit = (c: ChallengeRow) => draft(f.accountId, 'link.confirmed', { challengeId: c.id })
        const confirmed = await f.storage.logins.confirmLink(row.linkHash as string, T0 + 1000, audit)
        expect(confirmed).toEqual({ ...row, status: 'confirmed' })
        expect(await f.storage.logins.confirmLink(row.linkHash as string, T0 + 2000, audit)).toBeNull()
        const events = await f.storage.audit.listAudit({ accountId: f.accountId, limit: 100 })
        expect(events.filter((e) => e.type === 'link.confirmed').map((e) => e.challengeId)).toEqual([row.id])
      })

      it('refuses a link at or after its expiry', async () => {
        const row = await f.issued()
        expect(
          await f.storage.logins.confirmLink(row.linkHash as string, row.expiresAt, () =>
            draft(f.accountId, 'x'),
          ),
        ).toBeNull()
        expect((await f.storage.logins.getChallenge(row.id))?.status).toBe('pending')
      })

      it('refuses a superseded link', async () => {
        const first = await f.issued()
        await f.storage.logins.issueChallenge(f.challenge(), [], [])
        expect(
          await f.storage.logins.confirmLink(first.linkHash as string, T0, () => draft(f.accountId, 'x')),
        ).toBeNull()
      })

      it('confirms a link that has a match code only with that code', async () => {
        const row = await f.issued({ matchCode: '042', maxAttempts: 3 })
        const audit = () => draft(f.accountId, 'link.confirmed')
        expect(await f.storage.logins.confirmLink(row.linkHash as string, T0, audit, '041')).toBeNull()
        expect(await f.storage.logins.confirmLink(row.linkHash as string, T0, audit)).toBeNull()
        // Each guess took an attempt before it was compared.
        expect((await f.storage.logins.getChallenge(row.id))?.attempts).toBe(2)
        expect(await f.storage.logins.confirmLink(row.linkHash as string, T0, audit, '042')).toMatchObject({
          status: 'confirmed',
          matchCode: '042',
          attempts: 0,
        })
      })

      it('confirms nothing once a match code’s attempts are spent, not even the right code', async () => {
        const row = await f.issued({ matchCode: '042', maxAttempts: 1 })
        const audit = () => draft(f.accountId, 'link.confirmed')
        expect(await f.storage.logins.confirmLink(row.linkHash as string, T0, audit, '041')).toBeNull()
        expect(await f.storage.logins.confirmLink(row.linkHash as string, T0, audit, '042')).toBeNull()
      })
    })

    describe('reserveAttempt', () => {
      it('counts attempts up to the maximum, then refuses', async () => {
        const row = await f.issued({
          method: 'pin',
          linkHash: null,
          pinHash: 'h',
          pinLength: 8,
          maxAttempts: 3,
        })
        const taken = []
        for (let i = 0; i < 5; i++) taken.push(await f.storage.logins.reserveAttempt(row.id, T0))
        expect(taken).toEqual([1, 2, 3, null, null])
        expect((await f.storage.logins.getChallenge(row.id))?.attempts).toBe(3)
      })

      it('refuses an expired or no longer pending challenge, or one whose outcome was reported', async () => {
        const row = await f.issued({ method: 'pin', linkHash: null, pinHash: 'h', pinLength: 8 })
        expect(await f.storage.logins.reserveAttempt(row.id, row.expiresAt)).toBeNull()
        await f.storage.logins.transitionChallenge(
          { id: row.id, from: ['pending'], to: 'failed', at: T0, reported: true },
          [],
        )
        expect(await f.storage.logins.reserveAttempt(row.id, T0)).toBeNull()
        // Still pending, but its outcome was reported: no attempt is taken from it (as settlePinAttempt).
        const reported = await f.issued({ method: 'pin', linkHash: null, pinHash: 'h', pinLength: 8 })
        await f.storage.logins.transitionChallenge(
          { id: reported.id, from: ['pending'], to: 'pending', at: T0, reported: true },
          [],
        )
        expect(await f.storage.logins.reserveAttempt(reported.id, T0)).toBeNull()
        expect((await f.storage.logins.getChallenge(reported.id))?.attempts).toBe(0)
      })

      it('never hands out more attempts than the maximum to concurrent callers', async () => {
        const row = await f.issued({
          method: 'pin',
          linkHash: null,
          pinHash: 'h',
          pinLength: 8,
          maxAttempts: 5,
        })
        const taken = await Promise.all(
          Array.from({ length: 50 }, () => f.storage.logins.reserveAttempt(row.id, T0)),
        )
        expect(taken.filter((n) => n !== null).sort()).toEqual([1, 2, 3, 4, 5])
      })

      it('takes attempts on a confirmed challenge waiting for its memorized PIN', async () => {
        const row = await f.issued({ extraLayer: 'memorized_pin', maxAttempts: 2 })
        await f.storage.logins.confirmLink(row.linkHash as string, T0, () => draft(f.accountId, 'x'))
        expect(await f.storage.logins.reserveAttempt(row.id, T0)).toBeNull()
        expect(await f.storage.logins.reserveAttempt(row.id, T0, 'confirmed')).toBe(1)
        expect(await f.storage.logins.reserveAttempt(row.id, T0, 'confirmed')).toBe(2)
        expect(await f.storage.logins.reserveAttempt(row.id, T0, 'confirmed')).toBeNull()
      })
    })

    sendLimitCases(f)
    challengeMoveCases(suite, f)
    pinAttemptCases(suite, f)
    exactIdentifierLoginCases(f)

    const completionCodes = () =>
      completionCodeCases(() => ({
        storage: f.storage,
        accountId: f.accountId,
        issued: f.issued,
        supersede: async () => {
          await f.storage.logins.issueChallenge(f.challenge(), [], [])
        },
        draft: (type, fields) => draft(f.accountId, type, fields),
        t0: T0,
      }))
    if (suite.selected('audit')) completionCodes()
    else
      describe.skip(
        'not run: the completion code cases read audit, not among options.stores',
        completionCodes,
      )
  })
}
