import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { auditSealer, verifyAuditChain } from '../audit/audit-chain.js'
import { apiKeyDigest, newApiKey } from '../domain/api-keys.js'
import { ConflictError, StorageError, ValidationError } from '../domain/errors.js'
import { newId, sha256Hex } from '../domain/secrets.js'
import { DEFAULT_SETTINGS, resolveSettings } from '../policy/account-settings.js'
import { resolvePolicies } from '../policy/system-policy.js'
import type {
  AuditDraft,
  ChallengeRow,
  DeliveryOutcome,
  DeliveryRow,
  Storage,
  SystemRow,
  UserRow,
} from '../ports/storage.js'
import { completionCodeCases } from './completion-conformance.js'
import {
  raceCompletionRedeems,
  raceDeliveries,
  raceLinkConfirms,
  racePinChecks,
  raceStarts,
  type SharedDatabase,
} from './login-races.js'
import { describeExactIdentifiersAndRetention } from './retention-conformance.js'

/** A storage under test, on a fresh, empty database. */
export interface StorageUnderTest {
  readonly storage: Storage
  /** How other processes open this same database; omit when they cannot (`:memory:`). */
  readonly shared?: SharedDatabase
  /** Releases the database (closing the storage is the suite's job). */
  cleanup?(): Promise<void>
}

export interface StorageConformanceOptions {
  /** Names the suite: `sqlite file`, `postgres`. */
  readonly name: string
  /** Opens a storage on a fresh, empty database; called before every test. */
  open(): Promise<StorageUnderTest>
  /**
   * Why the cross-process races cannot run here (`:memory:` cannot be shared), or omit to run them;
   * then `open()` must return `shared`.
   */
  readonly noSharedDatabase?: string
}

const T0 = Date.UTC(2026, 0, 1, 9)
const SECRET = 'conformance-secret-conformance-secret'

const draft = (accountId: string, type: string, fields: Partial<AuditDraft> = {}): AuditDraft => ({
  accountId,
  at: T0,
  type,
  actor: 'test',
  system: null,
  authid: null,
  challengeId: null,
  outcome: 'success',
  reason: null,
  ip: null,
  userAgent: null,
  details: null,
  ...fields,
})

/**
 * The contract every Storage adapter must keep, as a vitest suite. Run it from your adapter's tests:
 *
 * ```ts
 * runStorageConformance({ name: 'my adapter', open: async () => ({ storage: myStorage() }) })
 * ```
 * With `shared`, the races also run across child processes each holding its own storage.
 */
export function runStorageConformance(options: StorageConformanceOptions): void {
  describe(`Storage conformance: ${options.name}`, () => {
    let under: StorageUnderTest
    let storage: Storage
    let accountId: string
    let system: SystemRow
    let user: UserRow

    beforeEach(async () => {
      under = await options.open()
      storage = under.storage
      storage.sealAuditWith(auditSealer(SECRET))
      await storage.migrate()
      accountId = newId()
      await storage.accounts.insertAccount({
        id: accountId,
        name: 'Acme',
        settings: DEFAULT_SETTINGS,
        createdAt: T0,
      })
      system = {
        id: newId(),
        accountId,
        name: 'payroll',
        policies: resolvePolicies({ passwordless: { enabled: true }, pin: { enabled: true } }),
        returnUrl: null,
        messages: null,
        sensitivity: 'high',
        rules: {
          version: 1,
          updatedAt: T0,
          updatedBy: 'admin',
          rules: [{ name: 'office', when: { ipIn: ['203.0.113.0/24'] }, effect: { numberMatching: true } }],
        },
        createdAt: T0,
        updatedAt: T0,
      }
      await storage.systems.insertSystem(system, [])
      user = {
        id: newId(),
        accountId,
        authid: 'alice',
        displayName: 'Alice',
        email: 'alice@example.com',
        phone: null,
        locale: null,
        attributes: { department: 'finance', level: 3 },
        memorizedPinHash: null,
        status: 'active',
        failureStreak: 0,
        retryAfter: null,
        createdAt: T0,
        updatedAt: T0,
      }
      await storage.users.insertUser(user, [])
    })

    afterEach(async () => {
      await storage.close()
      await under.cleanup?.()
    })

    const assign = (method: 'passwordless' | 'pin' = 'passwordless') =>
      storage.users.saveAssignments(user.id, [{ systemId: system.id, method, channel: null }], [])

    const challenge = (fields: Partial<ChallengeRow> = {}): ChallengeRow => {
      const id = newId()
      return {
        id,
        accountId,
        systemId: system.id,
        userId: user.id,
        systemName: system.name,
        authid: user.authid,
        method: 'passwordless',
        channel: 'email',
        status: 'pending',
        linkHash: sha256Hex(id),
        pinHash: null,
        pinLength: null,
        attempts: 0,
        maxAttempts: 5,
        createdAt: T0,
        expiresAt: T0 + 600_000,
        completedAt: null,
        outcomeReported: false,
        context: { ip: '203.0.113.7', trusted: true, score: 3 },
        deliveryId: null,
        delivery: null,
        extraLayer: null,
        matchCode: null,
        device: null,
        ...fields,
      }
    }

    /** Assigns the user and issues a challenge as its current one. */
    const issued = async (fields: Partial<ChallengeRow> = {}) => {
      await assign(fields.method ?? 'passwordless')
      const row = challenge(fields)
      expect(await storage.logins.issueChallenge(row, [], [])).toEqual({ issued: true })
      return row
    }

    describeExactIdentifiersAndRetention(() => ({
      storage,
      accountId,
      system,
      user,
      challenge,
      draft: (type, fields) => draft(accountId, type, fields),
      t0: T0,
    }))

    describe('schema', () => {
      it('migrates twice without error', async () => {
        await expect(storage.migrate()).resolves.toBeUndefined()
      })
    })

    describe('accounts, systems and users', () => {
      it('reads back an account, and null for an unknown one', async () => {
        expect(await storage.accounts.getAccount(accountId)).toEqual({
          id: accountId,
          name: 'Acme',
          settings: DEFAULT_SETTINGS,
          createdAt: T0,
        })
        expect(await storage.accounts.getAccount('nope')).toBeNull()
      })

      it('reads back a system with its policies, and lists systems by name', async () => {
        expect(await storage.systems.getSystem(accountId, 'payroll')).toEqual(system)
        await storage.systems.insertSystem({ ...system, id: newId(), name: 'crm' }, [])
        expect((await storage.systems.listSystems(accountId)).map((s) => s.name)).toEqual(['crm', 'payroll'])
      })

      it('refuses a second system of the same name in an account with ConflictError', async () => {
        await expect(storage.systems.insertSystem({ ...system, id: newId() }, [])).rejects.toBeInstanceOf(
          ConflictError,
        )
      })

      it('allows the same system name in another account', async () => {
        const other = newId()
        await storage.accounts.insertAccount({
          id: other,
          name: 'Other',
          settings: DEFAULT_SETTINGS,
          createdAt: T0,
        })
        await storage.systems.insertSystem({ ...system, id: newId(), accountId: other }, [])
        expect((await storage.systems.getSystem(other, 'payroll'))?.accountId).toBe(other)
      })

      it('updates a system’s policies and return URL', async () => {
        const policies = resolvePolicies({ pin: { pinLength: 10 } }, system.policies)
        const returnUrl = 'https://app.example.com/signed-in'
        await storage.systems.updateSystem({ ...system, policies, returnUrl, updatedAt: T0 + 1 }, [])
        expect(await storage.systems.getSystem(accountId, 'payroll')).toEqual({
          ...system,
          policies,
          returnUrl,
          updatedAt: T0 + 1,
        })
      })

      it('refuses a duplicate authid with ConflictError and updates a user', async () => {
        await expect(storage.users.insertUser({ ...user, id: newId() }, [])).rejects.toBeInstanceOf(
          ConflictError,
        )
        const changed = {
          ...user,
          email: null,
          phone: '+14155552671',
          status: 'disabled' as const,
          updatedAt: T0 + 5,
        }
        await storage.users.updateUser(changed, [])
        expect(await storage.users.getUser(accountId, 'alice')).toEqual(changed)
      })

      it('pages users by authid', async () => {
        for (const authid of ['carol', 'bob', 'dave'])
          await storage.users.insertUser({ ...user, id: newId(), authid }, [])
        const first = await storage.users.listUsers(accountId, { limit: 2 })
        expect(first.map((u) => u.authid)).toEqual(['alice', 'bob'])
        const next = await storage.users.listUsers(accountId, { afterAuthid: 'bob', limit: 10 })
        expect(next.map((u) => u.authid)).toEqual(['carol', 'dave'])
      })

      it('saves several assignments at once and replaces one’s method', async () => {
        const crm = { ...system, id: newId(), name: 'crm' }
        await storage.systems.insertSystem(crm, [])
        await storage.users.saveAssignments(
          user.id,
          [
            { systemId: system.id, method: 'pin', channel: 'email' },
            { systemId: crm.id, method: 'passwordless', channel: null },
          ],
          [],
        )
        await storage.users.saveAssignments(user.id, [{ systemId: crm.id, method: 'pin', channel: null }], [])
        const rows = await storage.users.listAssignments(user.id)
        expect(rows.map((a) => [a.systemId, a.method, a.channel]).sort()).toEqual(
          [
            [system.id, 'pin', 'email'],
            [crm.id, 'pin', null],
          ].sort(),
        )
      })
    })

    describe('resolveLogin', () => {
      it('answers null for an unknown account, and no system for an unknown system', async () => {
        expect(await storage.logins.resolveLogin('no-such-account', 'payroll', 'alice')).toBeNull()
        const subject = await storage.logins.resolveLogin(accountId, 'nope', 'alice')
        expect(subject?.account).toEqual({
          id: accountId,
          name: 'Acme',
          settings: DEFAULT_SETTINGS,
          createdAt: T0,
        })
        expect(subject?.system).toBeNull()
      })

      it('finds the system but no user for an unknown authid', async () => {
        const subject = await storage.logins.resolveLogin(accountId, 'payroll', 'nobody')
        expect(subject?.system).toEqual(system)
        expect(subject?.user).toBeNull()
      })

      it('finds the user but no assignment until one is saved', async () => {
        expect((await storage.logins.resolveLogin(accountId, 'payroll', 'alice'))?.assignment).toBeNull()
        await assign()
        const subject = await storage.logins.resolveLogin(accountId, 'payroll', 'alice')
        expect(subject?.user).toEqual(user)
        expect(subject?.assignment).toMatchObject({ method: 'passwordless', challengeId: null })
        expect(subject?.challenge).toBeNull()
      })

      it('never sees another account’s system or user', async () => {
        const other = newId()
        await storage.accounts.insertAccount({
          id: other,
          name: 'Other',
          settings: DEFAULT_SETTINGS,
          createdAt: T0,
        })
        const subject = await storage.logins.resolveLogin(other, 'payroll', 'alice')
        expect([subject?.system, subject?.user]).toEqual([null, null])
      })
    })

    describe('issueChallenge', () => {
      it('stores the challenge as the assignment’s current one, context included', async () => {
        const row = await issued()
        expect((await storage.logins.resolveLogin(accountId, 'payroll', 'alice'))?.challenge).toEqual(row)
        expect(await storage.logins.getChallenge(row.id)).toEqual(row)
        expect(await storage.logins.getChallengeByLinkHash(row.linkHash as string)).toEqual(row)
      })

      it('supersedes the live challenge it replaces, and only that pair’s', async () => {
        const crm = { ...system, id: newId(), name: 'crm' }
        await storage.systems.insertSystem(crm, [])
        await storage.users.saveAssignments(
          user.id,
          [{ systemId: crm.id, method: 'passwordless', channel: null }],
          [],
        )
        const elsewhere = challenge({ systemId: crm.id, systemName: 'crm' })
        await storage.logins.issueChallenge(elsewhere, [], [])
        const first = await issued()
        const second = challenge()
        expect(await storage.logins.issueChallenge(second, [], [])).toEqual({ issued: true })
        expect(await storage.logins.getChallenge(first.id)).toMatchObject({
          status: 'superseded',
          completedAt: second.createdAt,
        })
        expect((await storage.logins.getChallenge(elsewhere.id))?.status).toBe('pending')
        expect((await storage.logins.resolveLogin(accountId, 'payroll', 'alice'))?.challenge?.id).toBe(
          second.id,
        )
      })

      it('changes nothing and answers false when the user is not assigned', async () => {
        const row = challenge()
        expect(await storage.logins.issueChallenge(row, [draft(accountId, 'challenge.started')], [])).toEqual(
          {
            issued: false,
            reason: 'not_assigned',
          },
        )
        expect(await storage.logins.getChallenge(row.id)).toBeNull()
        expect(await storage.audit.listAudit({ accountId, limit: 100 })).toEqual([])
      })

      it('leaves nothing behind when a write late in its transaction fails', async () => {
        await assign()
        const limit = { key: 'user:x', limit: 1, windowMs: 60_000 }
        const row = challenge()
        // The audit event names an account without a chain: the last write fails, after all the others.
        await expect(
          storage.logins.issueChallenge(row, [draft('no-such-account', 'challenge.started')], [limit]),
        ).rejects.toBeInstanceOf(StorageError)
        expect(await storage.logins.getChallenge(row.id)).toBeNull()
        expect(
          (await storage.logins.resolveLogin(accountId, 'payroll', 'alice'))?.assignment?.challengeId,
        ).toBeNull()
        expect(await storage.logins.issueChallenge(challenge(), [], [limit])).toEqual({ issued: true })
      })

      it('leaves one live challenge after many concurrent issues for one pair', async () => {
        await assign()
        const rows = Array.from({ length: 20 }, () => challenge())
        expect(await Promise.all(rows.map((row) => storage.logins.issueChallenge(row, [], [])))).toEqual(
          rows.map(() => ({ issued: true })),
        )
        const statuses = await Promise.all(
          rows.map(async (row) => (await storage.logins.getChallenge(row.id))?.status),
        )
        expect(statuses.filter((status) => status === 'pending')).toHaveLength(1)
      })
    })

    describe('confirmLink', () => {
      it('confirms a pending link once and writes its audit event', async () => {
        const row = await issued()
        const audit = (c: ChallengeRow) => draft(accountId, 'link.confirmed', { challengeId: c.id })
        const confirmed = await storage.logins.confirmLink(row.linkHash as string, T0 + 1000, audit)
        expect(confirmed).toEqual({ ...row, status: 'confirmed' })
        expect(await storage.logins.confirmLink(row.linkHash as string, T0 + 2000, audit)).toBeNull()
        const events = await storage.audit.listAudit({ accountId, limit: 100 })
        expect(events.filter((e) => e.type === 'link.confirmed').map((e) => e.challengeId)).toEqual([row.id])
      })

      it('refuses a link at or after its expiry', async () => {
        const row = await issued()
        expect(
          await storage.logins.confirmLink(row.linkHash as string, row.expiresAt, () =>
            draft(accountId, 'x'),
          ),
        ).toBeNull()
        expect((await storage.logins.getChallenge(row.id))?.status).toBe('pending')
      })

      it('refuses a superseded link', async () => {
        const first = await issued()
        await storage.logins.issueChallenge(challenge(), [], [])
        expect(
          await storage.logins.confirmLink(first.linkHash as string, T0, () => draft(accountId, 'x')),
        ).toBeNull()
      })
    })

    describe('reserveAttempt', () => {
      it('counts attempts up to the maximum, then refuses', async () => {
        const row = await issued({
          method: 'pin',
          linkHash: null,
          pinHash: 'h',
          pinLength: 8,
          maxAttempts: 3,
        })
        const taken = []
        for (let i = 0; i < 5; i++) taken.push(await storage.logins.reserveAttempt(row.id, T0))
        expect(taken).toEqual([1, 2, 3, null, null])
        expect((await storage.logins.getChallenge(row.id))?.attempts).toBe(3)
      })

      it('refuses an expired or no longer pending challenge', async () => {
        const row = await issued({ method: 'pin', linkHash: null, pinHash: 'h', pinLength: 8 })
        expect(await storage.logins.reserveAttempt(row.id, row.expiresAt)).toBeNull()
        await storage.logins.transitionChallenge(
          { id: row.id, from: ['pending'], to: 'failed', at: T0, reported: true },
          [],
        )
        expect(await storage.logins.reserveAttempt(row.id, T0)).toBeNull()
      })

      it('never hands out more attempts than the maximum to concurrent callers', async () => {
        const row = await issued({
          method: 'pin',
          linkHash: null,
          pinHash: 'h',
          pinLength: 8,
          maxAttempts: 5,
        })
        const taken = await Promise.all(
          Array.from({ length: 50 }, () => storage.logins.reserveAttempt(row.id, T0)),
        )
        expect(taken.filter((n) => n !== null).sort()).toEqual([1, 2, 3, 4, 5])
      })
    })

    describe('transitionChallenge', () => {
      it('moves only from the listed statuses, writing audit only when it moves', async () => {
        const row = await issued()
        const audit = [draft(accountId, 'moved')]
        expect(
          await storage.logins.transitionChallenge(
            { id: row.id, from: ['confirmed'], to: 'authenticated', at: T0, reported: true },
            audit,
          ),
        ).toBe(false)
        expect(await storage.audit.listAudit({ accountId, limit: 10 })).toEqual([])
        expect(
          await storage.logins.transitionChallenge(
            { id: row.id, from: ['pending', 'confirmed'], to: 'expired', at: T0 + 5, reported: false },
            audit,
          ),
        ).toBe(true)
        expect(await storage.logins.getChallenge(row.id)).toMatchObject({
          status: 'expired',
          completedAt: T0 + 5,
          outcomeReported: false,
        })
        expect((await storage.audit.listAudit({ accountId, limit: 10 })).map((e) => e.type)).toEqual([
          'moved',
        ])
      })

      it('moves a challenge whose outcome was reported no further', async () => {
        const row = await issued()
        await storage.logins.transitionChallenge(
          { id: row.id, from: ['pending'], to: 'expired', at: T0, reported: false },
          [],
        )
        expect(
          await storage.logins.transitionChallenge(
            { id: row.id, from: ['expired'], to: 'expired', at: T0 + 9, reported: true },
            [],
          ),
        ).toBe(true)
        expect(
          await storage.logins.transitionChallenge(
            { id: row.id, from: ['expired'], to: 'expired', at: T0, reported: true },
            [],
          ),
        ).toBe(false)
        expect(await storage.logins.getChallenge(row.id)).toMatchObject({
          completedAt: T0,
          outcomeReported: true,
        })
      })

      it('lets exactly one of many concurrent moves win', async () => {
        const row = await issued()
        const moves = await Promise.all(
          Array.from({ length: 50 }, () =>
            storage.logins.transitionChallenge(
              { id: row.id, from: ['pending'], to: 'authenticated', at: T0, reported: true },
              [],
            ),
          ),
        )
        expect(moves.filter(Boolean)).toHaveLength(1)
      })
    })

    describe('expireDue', () => {
      it('expires live challenges that are due, audits each, and leaves the rest', async () => {
        const due = await issued({ expiresAt: T0 + 1000 })
        const crm = { ...system, id: newId(), name: 'crm' }
        await storage.systems.insertSystem(crm, [])
        await storage.users.saveAssignments(
          user.id,
          [{ systemId: crm.id, method: 'passwordless', channel: null }],
          [],
        )
        const later = challenge({ systemId: crm.id, systemName: 'crm', expiresAt: T0 + 5000 })
        await storage.logins.issueChallenge(later, [], [])
        const expired = await storage.logins.expireDue(T0 + 1000, 100, (c) =>
          draft(accountId, 'challenge.expired', { challengeId: c.id }),
        )
        expect(expired.map((c) => [c.id, c.status])).toEqual([[due.id, 'expired']])
        expect((await storage.logins.getChallenge(later.id))?.status).toBe('pending')
        expect((await storage.audit.listAudit({ accountId, limit: 10 })).map((e) => e.challengeId)).toEqual([
          due.id,
        ])
      })

      it('takes at most `limit` challenges per call', async () => {
        for (let i = 0; i < 3; i++) {
          const s = { ...system, id: newId(), name: `s${i}` }
          await storage.systems.insertSystem(s, [])
          await storage.users.saveAssignments(
            user.id,
            [{ systemId: s.id, method: 'passwordless', channel: null }],
            [],
          )
          await storage.logins.issueChallenge(
            challenge({ systemId: s.id, systemName: s.name, expiresAt: T0 }),
            [],
            [],
          )
        }
        expect(
          await storage.logins.expireDue(T0, 2, (c) => draft(accountId, 'x', { challengeId: c.id })),
        ).toHaveLength(2)
        expect(
          await storage.logins.expireDue(T0, 2, (c) => draft(accountId, 'x', { challengeId: c.id })),
        ).toHaveLength(1)
        expect(
          await storage.logins.expireDue(T0, 2, (c) => draft(accountId, 'x', { challengeId: c.id })),
        ).toHaveLength(0)
      })
    })

    describe('audit trail', () => {
      it('numbers each account’s events from 1 without gaps and pages them by sequence', async () => {
        const other = newId()
        await storage.accounts.insertAccount({
          id: other,
          name: 'Other',
          settings: DEFAULT_SETTINGS,
          createdAt: T0,
        })
        await storage.audit.appendAudit([draft(accountId, 'a'), draft(other, 'x'), draft(accountId, 'b')])
        await storage.audit.appendAudit([
          draft(accountId, 'c', { details: { nested: { n: 1 } }, reason: 'wrong_pin' }),
        ])
        const events = await storage.audit.listAudit({ accountId, limit: 10 })
        expect(events.map((e) => [e.seq, e.type])).toEqual([
          [1, 'a'],
          [2, 'b'],
          [3, 'c'],
        ])
        expect(events[2]).toMatchObject({ details: { nested: { n: 1 } }, reason: 'wrong_pin' })
        expect((await storage.audit.listAudit({ accountId, after: 1, limit: 1 })).map((e) => e.seq)).toEqual([
          2,
        ])
        expect((await storage.audit.listAudit({ accountId: other, limit: 10 })).map((e) => e.seq)).toEqual([
          1,
        ])
      })

      it('keeps sequence numbers unique under concurrent appends', async () => {
        await Promise.all(
          Array.from({ length: 30 }, (_, i) => storage.audit.appendAudit([draft(accountId, `e${i}`)])),
        )
        const seqs = (await storage.audit.listAudit({ accountId, limit: 100 })).map((e) => e.seq)
        expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
      })
    })

    describe('account settings and API keys', () => {
      it('lists accounts and updates an account’s settings', async () => {
        const settings = resolveSettings({ uniformResponses: true, sendLimits: { perUserPerHour: 9 } })
        expect(
          await storage.accounts.updateAccountSettings(
            accountId,
            () => settings,
            () => [draft(accountId, 'account.settings.updated')],
          ),
        ).toEqual(settings)
        expect((await storage.accounts.getAccount(accountId))?.settings).toEqual(settings)
        expect((await storage.accounts.listAccounts()).map((a) => a.id)).toContain(accountId)
        expect(
          await storage.accounts.updateAccountSettings(
            newId(),
            () => settings,
            () => [],
          ),
        ).toBeNull()
      })

      it('serializes settings changes: each one builds on the last, none is lost', async () => {
        // Each change adds one to a limit: 20 concurrent ones that read before writing would lose some.
        await Promise.all(
          Array.from({ length: 20 }, () =>
            storage.accounts.updateAccountSettings(
              accountId,
              (current) =>
                resolveSettings(
                  { sendLimits: { perUserPerHour: current.sendLimits.perUserPerHour + 1 } },
                  current,
                ),
              () => [draft(accountId, 'account.settings.updated')],
            ),
          ),
        )
        const start = DEFAULT_SETTINGS.sendLimits.perUserPerHour
        expect((await storage.accounts.getAccount(accountId))?.settings.sendLimits.perUserPerHour).toBe(
          start + 20,
        )
      })

      it('changes nothing when the change throws', async () => {
        const before = (await storage.accounts.getAccount(accountId))?.settings
        await expect(
          storage.accounts.updateAccountSettings(
            accountId,
            () => {
              throw new ValidationError('sendLimits', 'no')
            },
            () => [draft(accountId, 'account.settings.updated')],
          ),
        ).rejects.toBeInstanceOf(ValidationError)
        expect((await storage.accounts.getAccount(accountId))?.settings).toEqual(before)
        expect(await storage.audit.listAudit({ accountId, limit: 10 })).toEqual([])
      })

      it('stores a key by its SHA-256, finds it, and revokes it once', async () => {
        const key = newApiKey()
        const row = {
          id: newId(),
          accountId,
          name: 'web',
          ...apiKeyDigest(key),
          scopes: ['admin', 'auth'] as const,
          createdAt: T0,
          lastUsedAt: null,
          expiresAt: T0 + 1000,
          revokedAt: null,
        }
        await storage.apiKeys.insertApiKey(row, [])
        expect(await storage.apiKeys.getApiKeyBySha256(row.sha256)).toEqual(row)
        expect(await storage.apiKeys.listApiKeys(accountId)).toEqual([row])
        expect(await storage.apiKeys.revokeApiKey('other-account', row.id, T0 + 5, [])).toBe(false)
        expect(
          await storage.apiKeys.revokeApiKey(accountId, row.id, T0 + 5, [draft(accountId, 'apikey.revoked')]),
        ).toBe(true)
        expect(await storage.apiKeys.revokeApiKey(accountId, row.id, T0 + 9, [])).toBe(false)
        expect((await storage.apiKeys.getApiKeyBySha256(row.sha256))?.revokedAt).toBe(T0 + 5)
        await expect(storage.apiKeys.insertApiKey({ ...row, id: newId() }, [])).rejects.toThrow()
      })

      it('records a key’s use at most once per interval', async () => {
        const row = {
          id: newId(),
          accountId,
          name: 'web',
          ...apiKeyDigest(newApiKey()),
          scopes: ['auth'] as const,
          createdAt: T0,
          lastUsedAt: null,
          expiresAt: null,
          revokedAt: null,
        }
        await storage.apiKeys.insertApiKey(row, [])
        for (const at of [T0 + 10, T0 + 20_000, T0 + 59_999, T0 + 60_010, T0 + 60_020])
          await storage.apiKeys.touchApiKey(row.id, at, 60_000)
        expect((await storage.apiKeys.getApiKeyBySha256(row.sha256))?.lastUsedAt).toBe(T0 + 60_010)
      })
    })

    describe('failure streaks and users', () => {
      const decide = (streak: number) => ({
        retryAfter: streak >= 2 ? T0 + streak * 1000 : null,
        lock: streak >= 4,
      })
      const lockAudit = (streak: number) => draft(accountId, 'user.locked', { details: { streak } })

      it('counts consecutive failures, sets delays that never shrink, and locks', async () => {
        const results = []
        for (let i = 0; i < 4; i++)
          results.push(
            await storage.users.recordFailure(user.id, T0 + 10, decide, [draft(accountId, 'f')], lockAudit),
          )
        expect(results).toEqual([
          { streak: 1, locked: false },
          { streak: 2, locked: false },
          { streak: 3, locked: false },
          { streak: 4, locked: true },
        ])
        expect(await storage.users.getUser(accountId, 'alice')).toMatchObject({
          failureStreak: 4,
          retryAfter: T0 + 4000,
          status: 'locked',
        })
        await storage.users.recordFailure(
          user.id,
          T0 + 20,
          () => ({ retryAfter: T0 + 1, lock: false }),
          [],
          lockAudit,
        )
        expect((await storage.users.getUser(accountId, 'alice'))?.retryAfter).toBe(T0 + 4000)
        expect((await storage.audit.listAudit({ accountId, limit: 100 })).map((e) => e.type)).toEqual([
          'f',
          'f',
          'f',
          'f',
          'user.locked',
        ])
      })

      it('stamps the user with the failure time it is given, with or without audit events', async () => {
        // A burned challenge records a failure with no audit event of its own: the time still comes
        // from the caller (it once came from the first draft, and a failure without one wrote 1970).
        await storage.users.recordFailure(user.id, T0 + 5000, decide, [], lockAudit)
        expect((await storage.users.getUser(accountId, 'alice'))?.updatedAt).toBe(T0 + 5000)
        await storage.users.recordFailure(user.id, T0 + 6000, decide, [draft(accountId, 'f')], lockAudit)
        expect((await storage.users.getUser(accountId, 'alice'))?.updatedAt).toBe(T0 + 6000)
      })

      it('counts every one of many concurrent failures', async () => {
        await Promise.all(
          Array.from({ length: 20 }, () =>
            storage.users.recordFailure(
              user.id,
              T0 + 30,
              () => ({ retryAfter: null, lock: false }),
              [],
              lockAudit,
            ),
          ),
        )
        expect((await storage.users.getUser(accountId, 'alice'))?.failureStreak).toBe(20)
      })

      it('resets the streak and delay with a successful transition', async () => {
        const row = await issued()
        await storage.users.recordFailure(user.id, T0 + 40, decide, [], lockAudit)
        await storage.users.recordFailure(user.id, T0 + 40, decide, [], lockAudit)
        await storage.logins.transitionChallenge(
          { id: row.id, from: ['pending'], to: 'authenticated', at: T0, reported: true },
          [],
          user.id,
        )
        expect(await storage.users.getUser(accountId, 'alice')).toMatchObject({
          failureStreak: 0,
          retryAfter: null,
        })
      })

      it('unlocks a locked user and says whether it was locked', async () => {
        for (let i = 0; i < 4; i++) await storage.users.recordFailure(user.id, T0 + 40, decide, [], lockAudit)
        expect(await storage.users.unlockUser(user.id, T0 + 1, [draft(accountId, 'user.unlocked')])).toBe(
          true,
        )
        expect(await storage.users.getUser(accountId, 'alice')).toMatchObject({
          status: 'active',
          failureStreak: 0,
          retryAfter: null,
        })
        expect(await storage.users.unlockUser(user.id, T0 + 2, [])).toBe(false)
      })

      it('removes a user with assignments and challenges, keeping the audit trail', async () => {
        const row = await issued()
        await storage.audit.appendAudit([draft(accountId, 'before')])
        expect(await storage.users.removeUser(user.id, [draft(accountId, 'user.removed')])).toBe(true)
        expect(await storage.users.getUser(accountId, 'alice')).toBeNull()
        expect(await storage.logins.getChallenge(row.id)).toBeNull()
        expect(await storage.users.listAssignments(user.id)).toEqual([])
        expect((await storage.audit.listAudit({ accountId, limit: 10 })).map((e) => e.type)).toEqual([
          'before',
          'user.removed',
        ])
        expect(await storage.users.removeUser(user.id, [])).toBe(false)
      })
    })

    describe('send limits', () => {
      const limit = { key: 'user:x', limit: 2, windowMs: 60_000 }

      it('issues within a limit, then refuses with the window’s end and changes nothing', async () => {
        await assign()
        const outcomes = []
        for (let i = 0; i < 3; i++)
          outcomes.push(await storage.logins.issueChallenge(challenge({ createdAt: T0 + i }), [], [limit]))
        expect(outcomes).toEqual([
          { issued: true },
          { issued: true },
          { issued: false, reason: 'rate_limited', key: 'user:x', retryAfter: T0 + 60_000 },
        ])
        const current = (await storage.logins.resolveLogin(accountId, 'payroll', 'alice'))?.challenge
        expect(current?.createdAt).toBe(T0 + 1)
      })

      it('spends no limit when another limit refuses', async () => {
        await assign()
        const other = { key: 'account:x', limit: 1, windowMs: 60_000 }
        await storage.logins.issueChallenge(challenge(), [], [other])
        expect(await storage.logins.issueChallenge(challenge(), [], [limit, other])).toMatchObject({
          issued: false,
          key: 'account:x',
        })
        expect(await storage.logins.issueChallenge(challenge(), [], [limit])).toEqual({ issued: true })
        expect(await storage.logins.issueChallenge(challenge(), [], [limit])).toEqual({ issued: true })
      })

      it('starts a new window when the old one ends, and sweeps ended windows', async () => {
        await assign()
        await storage.logins.issueChallenge(challenge({ createdAt: T0 }), [], [limit])
        await storage.logins.issueChallenge(challenge({ createdAt: T0 }), [], [limit])
        expect(
          await storage.logins.issueChallenge(challenge({ createdAt: T0 + 60_000 }), [], [limit]),
        ).toEqual({
          issued: true,
        })
        expect(await storage.logins.sweepRateLimits(T0 + 60_000)).toBe(0)
        expect(await storage.logins.sweepRateLimits(T0 + 120_000)).toBe(1)
      })

      it('holds each counter to its own limit when a start takes several', async () => {
        await assign()
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
            await storage.logins.issueChallenge(challenge(), [], [...limits([tight, ...loose]), shared]),
          ).toEqual({
            issued: true,
          })
          expect(
            await storage.logins.issueChallenge(challenge(), [], [...limits([...loose, tight]), shared]),
          ).toMatchObject({ issued: false, key: tight })
        }
      })

      it('never issues more than the limit to concurrent starts taking several counters', async () => {
        await assign()
        const limits = [
          { key: 'user:x', limit: 2, windowMs: 60_000 },
          { key: 'dest:x', limit: 100, windowMs: 60_000 },
          { key: 'key:x', limit: 100, windowMs: 60_000 },
          { key: 'account:x', limit: 3, windowMs: 60_000 },
        ]
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, () => storage.logins.issueChallenge(challenge(), [], limits)),
        )
        expect(outcomes.filter((o) => o.issued)).toHaveLength(2)
        // The refused starts spent nothing: the account counter took exactly the two, so one more fits.
        const another = [{ key: 'user:y', limit: 2, windowMs: 60_000 }, limits[1], limits[2], limits[3]]
        expect(await storage.logins.issueChallenge(challenge(), [], another as typeof limits)).toEqual({
          issued: true,
        })
        expect(await storage.logins.issueChallenge(challenge(), [], another as typeof limits)).toMatchObject({
          issued: false,
          key: 'account:x',
        })
      })

      it('never issues more than the limit to concurrent starts', async () => {
        await assign()
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, () => storage.logins.issueChallenge(challenge(), [], [limit])),
        )
        expect(outcomes.filter((o) => o.issued)).toHaveLength(2)
      })
    })

    describe('adaptive policy support', () => {
      it('refuses a system update made from a stale read, so no concurrent change is lost', async () => {
        const first = { ...system, sensitivity: 'low' as const, updatedAt: T0 + 1 }
        await storage.systems.updateSystem(first, [], T0)
        const stale = { ...system, rules: { ...system.rules, version: 2, rules: [] }, updatedAt: T0 + 2 }
        await expect(
          storage.systems.updateSystem(stale, [draft(accountId, 'system.updated')], T0),
        ).rejects.toBeInstanceOf(ConflictError)
        expect(await storage.systems.getSystem(accountId, 'payroll')).toEqual(first)
        expect(await storage.audit.listAudit({ accountId, limit: 10 })).toEqual([])
      })

      it('reads back a system’s sensitivity and rules and a user’s attributes', async () => {
        expect(await storage.systems.getSystem(accountId, 'payroll')).toEqual(system)
        expect(await storage.users.getUser(accountId, 'alice')).toEqual(user)
      })

      it('confirms a link that has a match code only with that code', async () => {
        const row = await issued({ matchCode: '042', maxAttempts: 3 })
        const audit = () => draft(accountId, 'link.confirmed')
        expect(await storage.logins.confirmLink(row.linkHash as string, T0, audit, '041')).toBeNull()
        expect(await storage.logins.confirmLink(row.linkHash as string, T0, audit)).toBeNull()
        // Each guess took an attempt before it was compared.
        expect((await storage.logins.getChallenge(row.id))?.attempts).toBe(2)
        expect(await storage.logins.confirmLink(row.linkHash as string, T0, audit, '042')).toMatchObject({
          status: 'confirmed',
          matchCode: '042',
          attempts: 0,
        })
      })

      it('confirms nothing once a match code’s attempts are spent, not even the right code', async () => {
        const row = await issued({ matchCode: '042', maxAttempts: 1 })
        const audit = () => draft(accountId, 'link.confirmed')
        expect(await storage.logins.confirmLink(row.linkHash as string, T0, audit, '041')).toBeNull()
        expect(await storage.logins.confirmLink(row.linkHash as string, T0, audit, '042')).toBeNull()
      })

      it('takes attempts on a confirmed challenge waiting for its memorized PIN', async () => {
        const row = await issued({ extraLayer: 'memorized_pin', maxAttempts: 2 })
        await storage.logins.confirmLink(row.linkHash as string, T0, () => draft(accountId, 'x'))
        expect(await storage.logins.reserveAttempt(row.id, T0)).toBeNull()
        expect(await storage.logins.reserveAttempt(row.id, T0, 'confirmed')).toBe(1)
        expect(await storage.logins.reserveAttempt(row.id, T0, 'confirmed')).toBe(2)
        expect(await storage.logins.reserveAttempt(row.id, T0, 'confirmed')).toBeNull()
      })

      it('answers the last authenticated login and whether a device was in one', async () => {
        expect(await storage.logins.userHistory(user.id, 'device-a')).toEqual({
          lastSuccessAt: null,
          knownDevice: false,
        })
        const row = await issued({ device: 'device-a' })
        const move = {
          id: row.id,
          from: ['pending'] as const,
          to: 'authenticated' as const,
          at: T0 + 5,
          reported: true,
        }
        await storage.logins.transitionChallenge(move, [])
        expect(await storage.logins.userHistory(user.id, 'device-a')).toEqual({
          lastSuccessAt: T0 + 5,
          knownDevice: true,
        })
        expect(await storage.logins.userHistory(user.id, 'device-b')).toEqual({
          lastSuccessAt: T0 + 5,
          knownDevice: false,
        })
        expect(await storage.logins.userHistory(user.id, null)).toEqual({
          lastSuccessAt: T0 + 5,
          knownDevice: false,
        })
      })

      it('sets and clears a memorized PIN hash, audited', async () => {
        await storage.users.setMemorizedPin(user.id, '$argon2id$hash', T0 + 1, [
          draft(accountId, 'user.pin.set'),
        ])
        expect((await storage.users.getUser(accountId, 'alice'))?.memorizedPinHash).toBe('$argon2id$hash')
        await storage.users.setMemorizedPin(user.id, null, T0 + 2, [])
        expect((await storage.users.getUser(accountId, 'alice'))?.memorizedPinHash).toBeNull()
        expect((await storage.audit.listAudit({ accountId, limit: 10 })).map((e) => e.type)).toEqual([
          'user.pin.set',
        ])
      })
    })

    describe('outbox', () => {
      const LEASE = 60_000
      const delivery = (row: ChallengeRow, fields: Partial<DeliveryRow> = {}): DeliveryRow => ({
        id: newId(),
        accountId,
        challengeId: row.id,
        channel: 'email',
        destination: 'a***@example.com',
        status: 'queued',
        attempts: 1,
        nextAttemptAt: T0,
        claimedUntil: T0 + LEASE,
        providerId: null,
        lastError: null,
        payload: 'v1.sealed',
        createdAt: T0,
        updatedAt: T0,
        expiresAt: row.expiresAt,
        fallbackOf: null,
        ...fields,
      })
      /** A challenge issued with one delivery, claimed by its issuer as `start` does. */
      const withDelivery = async (fields: Partial<DeliveryRow> = {}) => {
        await assign()
        const draftRow = challenge()
        const sent = delivery(draftRow, fields)
        const row = { ...draftRow, deliveryId: sent.id }
        expect(await storage.logins.issueChallenge(row, [], [], [sent])).toEqual({ issued: true })
        expect((await storage.logins.getChallenge(row.id))?.delivery).toBe('queued')
        return { row, sent }
      }
      const outcome = (d: DeliveryRow, fields: Partial<DeliveryOutcome>): DeliveryOutcome => ({
        id: d.id,
        challengeId: d.challengeId,
        attempt: d.attempts,
        to: 'sent',
        at: T0 + 1,
        providerId: 'provider-1',
        lastError: null,
        ...fields,
      })

      it('stores a delivery with its challenge; a live claim is not claimed again until it lapses', async () => {
        const { sent } = await withDelivery()
        expect(await storage.inspector!.listDeliveries(sent.challengeId)).toEqual([sent])
        expect(await storage.outbox.claimDeliveries(T0 + LEASE - 1, LEASE, 10)).toEqual([])
        const [claimed] = await storage.outbox.claimDeliveries(T0 + LEASE, LEASE, 10)
        expect(claimed).toMatchObject({
          id: sent.id,
          attempts: 2,
          claimedUntil: T0 + 2 * LEASE,
          payload: 'v1.sealed',
        })
      })

      it('records a sent delivery once, wipes its payload and tells the challenge', async () => {
        const { row, sent } = await withDelivery()
        const audit = [draft(accountId, 'delivery', { outcome: 'sent', challengeId: row.id })]
        expect(await storage.outbox.finishDelivery(outcome(sent, { attempt: 2 }), audit)).toBe(false)
        expect(await storage.outbox.finishDelivery(outcome(sent, {}), audit)).toBe(true)
        expect(await storage.outbox.finishDelivery(outcome(sent, {}), audit)).toBe(false)
        const [stored] = await storage.inspector!.listDeliveries(row.id)
        expect(stored).toMatchObject({
          status: 'sent',
          payload: null,
          providerId: 'provider-1',
          claimedUntil: null,
        })
        expect((await storage.logins.getChallenge(row.id))?.delivery).toBe('sent')
        expect((await storage.audit.listAudit({ accountId, limit: 10 })).map((e) => e.outcome)).toEqual([
          'sent',
        ])
        expect(await storage.outbox.claimDeliveries(T0 + 10 * LEASE, LEASE, 10)).toEqual([])
      })

      it('records many outcomes in one call, each fenced on its own claim (finishDeliveries, issue 16)', async () => {
        if (!storage.outbox.finishDeliveries) return
        await assign()
        const draftRow = challenge()
        const [a, b, c] = [delivery(draftRow), delivery(draftRow), delivery(draftRow)] as [
          DeliveryRow,
          DeliveryRow,
          DeliveryRow,
        ]
        const row = { ...draftRow, deliveryId: c.id }
        expect(await storage.logins.issueChallenge(row, [], [], [a, b, c])).toEqual({ issued: true })
        const audit = (d: DeliveryRow, outcome: string) => [
          draft(accountId, 'delivery', { outcome, challengeId: row.id, details: { deliveryId: d.id } }),
        ]
        const answers = await storage.outbox.finishDeliveries([
          { outcome: outcome(a, {}), audit: audit(a, 'sent') },
          // A stale claim: another dispatcher's attempt 2 owns this row now.
          { outcome: outcome(b, { attempt: 2 }), audit: audit(b, 'sent') },
          {
            outcome: outcome(c, {
              to: 'failed',
              nextAttemptAt: T0 + 5_000,
              providerId: null,
              lastError: '451',
            }),
            audit: audit(c, 'failed'),
          },
        ])
        expect(answers).toEqual([true, false, true])
        const stored = new Map((await storage.inspector!.listDeliveries(row.id)).map((d) => [d.id, d]))
        expect(stored.get(a.id)).toMatchObject({ status: 'sent', payload: null, claimedUntil: null })
        expect(stored.get(b.id)).toMatchObject({ status: 'queued', payload: 'v1.sealed' })
        expect(stored.get(c.id)).toMatchObject({
          status: 'failed',
          payload: 'v1.sealed',
          nextAttemptAt: T0 + 5_000,
        })
        expect((await storage.logins.getChallenge(row.id))?.delivery).toBe('failed')
        // Only the outcomes that were recorded are audited, in order.
        const events = await storage.audit.listAudit({ accountId, limit: 10 })
        expect(events.map((e) => [e.outcome, e.details?.deliveryId])).toEqual([
          ['sent', a.id],
          ['failed', c.id],
        ])
      })

      it('keeps a failed delivery for its retry, claimable only from its next attempt on', async () => {
        const { row, sent } = await withDelivery()
        const failed = outcome(sent, {
          to: 'failed',
          nextAttemptAt: T0 + 5_000,
          providerId: null,
          lastError: '451 try later',
        })
        expect(await storage.outbox.finishDelivery(failed, [])).toBe(true)
        expect((await storage.logins.getChallenge(row.id))?.delivery).toBe('failed')
        expect(await storage.outbox.claimDeliveries(T0 + 4_999, LEASE, 10)).toEqual([])
        const [again] = await storage.outbox.claimDeliveries(T0 + 5_000, LEASE, 10)
        expect(again).toMatchObject({
          status: 'failed',
          attempts: 2,
          payload: 'v1.sealed',
          lastError: '451 try later',
        })
      })

      it('abandons a delivery and queues its fallback in one step', async () => {
        const { row, sent } = await withDelivery()
        const fallback = delivery(row, {
          channel: 'sms',
          destination: '+1******67',
          fallbackOf: sent.id,
          createdAt: T0 + 1,
        })
        const abandoned = outcome(sent, {
          to: 'abandoned',
          providerId: null,
          lastError: '550',
        })
        expect(await storage.outbox.finishDelivery(abandoned, [], fallback)).toBe(true)
        const rows = await storage.inspector!.listDeliveries(row.id)
        expect(rows.map((d) => [d.channel, d.status, d.payload])).toEqual([
          ['email', 'abandoned', null],
          ['sms', 'queued', 'v1.sealed'],
        ])
        expect((await storage.logins.getChallenge(row.id))?.delivery).toBe('queued')
        // The secret now travels by SMS: the challenge says so, for check to answer.
        expect((await storage.logins.getChallenge(row.id))?.channel).toBe('sms')
        expect((await storage.logins.resolveLogin(accountId, 'payroll', 'alice'))?.challenge?.channel).toBe(
          'sms',
        )
      })

      it('never claims a delivery of a challenge that ended or expired, and cancels those', async () => {
        const { row, sent } = await withDelivery({ claimedUntil: null })
        const newer = challenge({ createdAt: T0 + 1 })
        const queued = delivery(newer, { claimedUntil: null })
        await storage.logins.issueChallenge(newer, [], [], [queued])
        expect((await storage.outbox.claimDeliveries(T0, LEASE, 10)).map((d) => d.id)).toEqual([queued.id])
        const cancelled = await storage.outbox.cancelDeliveries(T0 + 1, 10, (d, owner) =>
          draft(accountId, 'delivery', {
            outcome: 'cancelled',
            challengeId: d.challengeId,
            system: owner?.systemName ?? null,
            authid: owner?.authid ?? null,
          }),
        )
        expect(cancelled.map((d) => [d.id, d.status, d.payload])).toEqual([[sent.id, 'cancelled', null]])
        // The audit callback is told whose challenge it was.
        expect(
          (await storage.audit.listAudit({ accountId, limit: 10 })).map((e) => [
            e.challengeId,
            e.system,
            e.authid,
          ]),
        ).toEqual([[row.id, 'payroll', 'alice']])
        // The newer challenge's delivery goes too once its challenge has expired.
        const later = await storage.outbox.cancelDeliveries(newer.expiresAt, 10, (d) =>
          draft(accountId, 'x', { challengeId: d.challengeId }),
        )
        expect(later.map((d) => d.id)).toEqual([queued.id])
        expect(await storage.outbox.finishDelivery(outcome(queued, { attempt: 2 }), [])).toBe(false)
      })

      it('hands each due delivery to exactly one of several concurrent claimers', async () => {
        await assign()
        const holder = challenge()
        const rows = Array.from({ length: 20 }, () => delivery(holder, { claimedUntil: null }))
        await storage.logins.issueChallenge(holder, [], [], rows)
        const claims = await Promise.all(
          Array.from({ length: 5 }, () => storage.outbox.claimDeliveries(T0, LEASE, 20)),
        )
        const ids = claims.flat().map((d) => d.id)
        expect(new Set(ids).size).toBe(ids.length)
        expect(ids.length).toBe(20)
      })

      it('keeps the secret fingerprint by compare-and-set, and replaces a payload only while unchanged (S33, optional)', async () => {
        const store = storage.secretStore
        if (!store) return
        expect(await store.readFingerprint()).toBeNull()
        const firsts = await Promise.all([
          store.swapFingerprint(null, 'fp-a'),
          store.swapFingerprint(null, 'fp-b'),
        ])
        expect(firsts.filter(Boolean)).toHaveLength(1)
        const stored = (await store.readFingerprint()) as string
        expect(await store.swapFingerprint('fp-other', 'fp-c')).toBe(false)
        expect(await store.swapFingerprint(stored, 'fp-c')).toBe(true)
        expect(await store.readFingerprint()).toBe('fp-c')

        const { sent } = await withDelivery({ payload: 'v1.old-seal' })
        expect(await store.sealedPayloads(null, 10)).toEqual([{ id: sent.id, payload: 'v1.old-seal' }])
        expect(await store.sealedPayloads(sent.id, 10)).toEqual([])
        expect(await store.replacePayload(sent.id, 'v1.other', 'v1.new-seal')).toBe(false)
        expect(await store.replacePayload(sent.id, 'v1.old-seal', 'v1.new-seal')).toBe(true)
        expect(await store.sealedPayloads(null, 10)).toEqual([{ id: sent.id, payload: 'v1.new-seal' }])
      })
    })

    describe('audit chain', () => {
      it('chains a large append (more rows than one statement takes, two accounts) without a gap', async () => {
        const other = newId()
        await storage.accounts.insertAccount({
          id: other,
          name: 'Other',
          settings: DEFAULT_SETTINGS,
          createdAt: T0,
        })
        // 70 and 33 events: more rows than one insert statement takes, and one more than a multiple of it.
        await storage.audit.appendAudit([
          ...Array.from({ length: 70 }, (_, i) => draft(accountId, `a${i}`)),
          ...Array.from({ length: 33 }, (_, i) => draft(other, `o${i}`)),
        ])
        await storage.audit.appendAudit([draft(accountId, 'after')])
        const events = await storage.audit.listAudit({ accountId, limit: 100 })
        expect(events.map((e) => e.type)).toEqual([...Array.from({ length: 70 }, (_, i) => `a${i}`), 'after'])
        expect(await verifyAuditChain(storage, SECRET, accountId)).toEqual({
          ok: true,
          events: 71,
          lastSeq: 71,
        })
        expect(await verifyAuditChain(storage, SECRET, other)).toEqual({ ok: true, events: 33, lastSeq: 33 })
      })

      it('chains each event to the previous one and verifies', async () => {
        await storage.audit.appendAudit([
          draft(accountId, 'a'),
          draft(accountId, 'b', { details: { z: 1, a: [1, { y: 2, b: 3 }] } }),
        ])
        await storage.audit.appendAudit([draft(accountId, 'c')])
        const events = await storage.audit.listAudit({ accountId, limit: 10 })
        expect(events[0]?.prevMac).toBeNull()
        expect(events[1]?.prevMac).toBe(events[0]?.mac)
        expect(events[2]?.prevMac).toBe(events[1]?.mac)
        expect(await storage.audit.getAuditHead(accountId)).toEqual({
          seq: 3,
          mac: events[2]?.mac,
          anchorSeq: 0,
          anchorMac: null,
          headMac: expect.stringMatching(/^[0-9a-f]{64}$/),
        })
        expect(await verifyAuditChain(storage, SECRET, accountId)).toEqual({
          ok: true,
          events: 3,
          lastSeq: 3,
        })
        expect(await verifyAuditChain(storage, `${SECRET}-other`, accountId)).toMatchObject({
          ok: false,
          firstBadSeq: 1,
        })
      })

      it('filters events by time, system, authid, type and outcome', async () => {
        await storage.audit.appendAudit([
          draft(accountId, 'challenge.started', { at: T0, system: 'payroll', authid: 'alice' }),
          draft(accountId, 'challenge.checked', {
            at: T0 + 10,
            system: 'crm',
            authid: 'bob',
            outcome: 'security error',
          }),
          draft(accountId, 'challenge.checked', {
            at: T0 + 20,
            system: 'payroll',
            authid: 'alice',
            outcome: 'authenticated',
          }),
        ])
        const seqs = async (filters: object) =>
          (await storage.audit.listAudit({ accountId, limit: 10, ...filters })).map((e) => e.seq)
        expect(await seqs({ since: T0 + 10 })).toEqual([2, 3])
        expect(await seqs({ until: T0 + 10 })).toEqual([1])
        expect(await seqs({ system: 'payroll' })).toEqual([1, 3])
        expect(await seqs({ authid: 'bob' })).toEqual([2])
        expect(await seqs({ type: 'challenge.checked', outcome: 'authenticated' })).toEqual([3])
      })

      it('purges a prefix, leaves an anchor, and still verifies', async () => {
        await storage.audit.appendAudit(
          [1, 2, 3, 4].map((i) => draft(accountId, `e${i}`, { at: T0 + i * 1000 })),
        )
        expect(
          await storage.audit.purgeAudit(accountId, T0 + 3000, [
            draft(accountId, 'audit.purged', { at: T0 + 9000 }),
          ]),
        ).toBe(2)
        expect((await storage.audit.listAudit({ accountId, limit: 10 })).map((e) => e.type)).toEqual([
          'e3',
          'e4',
          'audit.purged',
        ])
        expect(await storage.audit.getAuditHead(accountId)).toMatchObject({ seq: 5, anchorSeq: 2 })
        expect(await verifyAuditChain(storage, SECRET, accountId)).toEqual({
          ok: true,
          events: 3,
          lastSeq: 5,
        })
        expect(await storage.audit.purgeAudit(accountId, T0, [])).toBe(0)
      })

      it('refuses to append before a sealer is set', async () => {
        const fresh = await options.open()
        try {
          await fresh.storage.migrate()
          await expect(fresh.storage.audit.appendAudit([draft(accountId, 'x')])).rejects.toBeInstanceOf(
            StorageError,
          )
        } finally {
          await fresh.storage.close()
          await fresh.cleanup?.()
        }
      })
    })

    completionCodeCases(() => ({
      storage,
      accountId,
      issued,
      supersede: async () => {
        await storage.logins.issueChallenge(challenge(), [], [])
      },
      draft: (type, fields) => draft(accountId, type, fields),
      t0: T0,
    }))

    describe('failures', () => {
      it('surfaces a failure of the backend as StorageError', async () => {
        await storage.close()
        await expect(storage.accounts.getAccount(accountId)).rejects.toBeInstanceOf(StorageError)
      })
    })

    const races = options.noSharedDatabase
      ? (body: () => void) =>
          describe.skip(`races across processes: not run, ${options.noSharedDatabase}`, body)
      : (body: () => void) => describe('races across processes', body)
    races(() => {
      const shared = () => {
        if (!under.shared)
          throw new Error(`${options.name}: open() returned no 'shared' database for the races`)
        return under.shared
      }

      it('lets exactly one of 50 concurrent confirms of one link succeed', async () => {
        const { results, final, audit } = await raceLinkConfirms({ storage, shared: shared() })
        expect(audit).toMatchObject({ ok: true })
        expect(results).toHaveLength(50)
        expect(results.filter((r) => r === 'confirmed')).toHaveLength(1)
        expect(results.filter((r) => r !== 'confirmed' && r !== 'used')).toEqual([])
        expect(final?.status).toBe('confirmed')
      }, 60_000)

      it('lets exactly one of 50 concurrent correct PIN checks authenticate', async () => {
        const { results, final, audit } = await racePinChecks({ storage, shared: shared(), correct: true })
        expect(audit).toMatchObject({ ok: true })
        expect(results).toHaveLength(50)
        expect(results.filter((r) => r === 'authenticated')).toHaveLength(1)
        expect(results.filter((r) => r.startsWith('threw'))).toEqual([])
        expect(final?.status).toBe('authenticated')
      }, 60_000)

      it('evaluates no more wrong PINs than the attempt limit out of 50 concurrent ones', async () => {
        const { results, final, verifications, audit } = await racePinChecks({
          storage,
          shared: shared(),
          correct: false,
        })
        expect(results).toHaveLength(50)
        expect(results.filter((r) => r === 'authenticated' || r.startsWith('threw'))).toEqual([])
        expect(verifications).toBe(5)
        expect(audit).toMatchObject({ ok: true })
        expect(results.filter((r) => r === 'security error:wrong_pin')).toHaveLength(4)
        expect(final).toMatchObject({ status: 'failed', attempts: 5 })
      }, 60_000)

      it('leaves exactly one live challenge after 20 concurrent starts for one user', async () => {
        const { results, live, final, audit } = await raceStarts({ storage, shared: shared(), total: 20 })
        expect(audit).toMatchObject({ ok: true })
        expect(results.filter((r) => r.startsWith('success:'))).toHaveLength(20)
        expect(live).toBe(1)
        expect(final?.status).toBe('pending')
      }, 60_000)

      it('issues no more than the send limit to 20 concurrent starts for one user', async () => {
        // One challenge is issued by the setup, so 4 of the 20 fit under a limit of 5.
        const { results, live, audit } = await raceStarts({
          storage,
          shared: shared(),
          total: 20,
          perUserPerHour: 5,
        })
        expect(results.filter((r) => r.startsWith('success:'))).toHaveLength(4)
        expect(results.filter((r) => r === 'rate limited')).toHaveLength(16)
        expect(audit).toMatchObject({ ok: true })
        expect(live).toBe(1)
      }, 60_000)

      it('lets exactly one of 50 concurrent redeems of one completion code win, across 4 processes', async () => {
        const { results, audit } = await raceCompletionRedeems({ storage, shared: shared() })
        expect(audit).toMatchObject({ ok: true })
        expect(results).toHaveLength(50)
        expect(results.filter((r) => r === 'authenticated')).toHaveLength(1)
        expect(results.filter((r) => r !== 'authenticated' && r !== 'security error')).toEqual([])
      }, 60_000)

      it('sends each of 20 due deliveries exactly once when 4 processes run the outbox at once', async () => {
        const { results, statuses, audit } = await raceDeliveries({ storage, shared: shared(), total: 12 })
        const sent = results.filter((r) => r.startsWith('sent:'))
        expect(sent).toHaveLength(20)
        expect(new Set(sent).size).toBe(20)
        expect(results.filter((r) => r.startsWith('threw:'))).toEqual([])
        expect(statuses).toEqual(Array.from({ length: 20 }, () => 'sent'))
        expect(audit).toMatchObject({ ok: true })
      }, 60_000)
    })
  })
}
