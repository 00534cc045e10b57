import { describe, expect, it } from 'vitest'
import { adminAudit } from '../admin/account-admin.js'
import { CONSOLE_SYSTEM } from '../admin/console-access.js'
import { ConflictError } from '../domain/errors.js'
import { newId, sha256Hex } from '../domain/secrets.js'
import type { ConsoleSessionRow, ConsoleSessionStore } from '../ports/console-session-store.js'
import type { AuditDraft } from '../ports/storage.js'
import type { ConsoleWorld } from './console-world.js'

const MINUTE = 60_000

/** The ConsoleSessionStore contract; `world()` gives a fresh account with an administrator, per test. */
export function consoleSessionCases(world: () => Promise<ConsoleWorld>): void {
  describe('console sessions', () => {
    const store = (w: ConsoleWorld): ConsoleSessionStore => {
      const sessions = w.storage.consoleSessions
      if (!sessions) throw new Error('this storage has no console session store')
      return sessions
    }
    const row = (w: ConsoleWorld, fields: Partial<ConsoleSessionRow> = {}): ConsoleSessionRow => ({
      id: newId(),
      tokenHash: sha256Hex(newId()),
      accountId: w.accountId,
      userId: w.admin.id,
      authid: w.admin.authid,
      challengeId: newId(),
      createdAt: w.clock.now(),
      lastSeenAt: w.clock.now(),
      authenticatedAt: w.clock.now(),
      expiresAt: w.clock.now() + 60 * MINUTE,
      revokedAt: null,
      ip: '198.51.100.4',
      userAgent: 'Console test',
      ...fields,
    })
    const audit = (w: ConsoleWorld, type: string): AuditDraft =>
      adminAudit(w.accountId, `console:${w.admin.authid}`, w.clock.now(), type, { authid: w.admin.authid })
    const auditTypes = async (w: ConsoleWorld) =>
      (await w.storage.audit.listAudit({ accountId: w.accountId, limit: 1000 })).map((e) => e.type)

    it('finds a session by its token hash, with its user as they are now', async () => {
      const w = await world()
      const session = row(w)
      await store(w).insert(session, [audit(w, 'console.signed_in')])
      expect(await store(w).find(session.tokenHash, CONSOLE_SYSTEM)).toEqual({
        session,
        userStatus: 'active',
        userAttributes: { consoleRole: 'admin' },
        assigned: true,
      })
      expect(await store(w).find(sha256Hex('another token'), CONSOLE_SYSTEM)).toBeNull()
      expect((await auditTypes(w)).at(-1)).toBe('console.signed_in')
      await w.account.users.update(w.admin.authid, {
        status: 'disabled',
        attributes: { consoleRole: 'viewer' },
      })
      expect(await store(w).find(session.tokenHash, CONSOLE_SYSTEM)).toMatchObject({
        userStatus: 'disabled',
        userAttributes: { consoleRole: 'viewer' },
      })
    })

    it('says whether the user is still assigned to the console system', async () => {
      const w = await world()
      const session = row(w, { userId: w.other.id, authid: w.other.authid })
      await store(w).insert(session, [])
      expect((await store(w).find(session.tokenHash, CONSOLE_SYSTEM))?.assigned).toBe(false)
      const admin = row(w)
      await store(w).insert(admin, [])
      expect((await store(w).find(admin.tokenHash, CONSOLE_SYSTEM))?.assigned).toBe(true)
      expect((await store(w).find(admin.tokenHash, 'another system'))?.assigned).toBe(false)
    })

    it('refuses a second session on the same login with ConflictError, writing nothing', async () => {
      const w = await world()
      const first = row(w)
      await store(w).insert(first, [])
      const before = await auditTypes(w)
      const again = row(w, { challengeId: first.challengeId })
      await expect(store(w).insert(again, [audit(w, 'console.signed_in')])).rejects.toBeInstanceOf(
        ConflictError,
      )
      expect(await store(w).find(again.tokenHash, CONSOLE_SYSTEM)).toBeNull()
      expect(await auditTypes(w)).toEqual(before)
    })

    it('records a request only when the last one recorded is old enough', async () => {
      const w = await world()
      const session = row(w)
      await store(w).insert(session, [])
      const t = session.lastSeenAt
      await store(w).touch(session.id, t + 30_000, MINUTE)
      expect((await store(w).find(session.tokenHash, CONSOLE_SYSTEM))?.session.lastSeenAt).toBe(t)
      await store(w).touch(session.id, t + MINUTE, MINUTE)
      expect((await store(w).find(session.tokenHash, CONSOLE_SYSTEM))?.session.lastSeenAt).toBe(t + MINUTE)
    })

    it('re-authenticates a live session once per login, and never a revoked one', async () => {
      const w = await world()
      const session = row(w)
      const other = row(w)
      await store(w).insert(session, [])
      await store(w).insert(other, [])
      const at = session.createdAt + 10 * MINUTE
      const login = newId()
      expect(
        await store(w).reauthenticate(session.id, login, at, [audit(w, 'console.reauthenticated')]),
      ).toBe(true)
      expect((await store(w).find(session.tokenHash, CONSOLE_SYSTEM))?.session).toMatchObject({
        authenticatedAt: at,
        lastSeenAt: at,
        challengeId: login,
      })
      await expect(store(w).reauthenticate(other.id, login, at, [])).rejects.toBeInstanceOf(ConflictError)
      await store(w).revoke(w.accountId, w.admin.id, other.id, at, [])
      expect(
        await store(w).reauthenticate(other.id, newId(), at, [audit(w, 'console.reauthenticated')]),
      ).toBe(false)
      expect((await auditTypes(w)).filter((type) => type === 'console.reauthenticated')).toHaveLength(1)
    })

    it('lists the user’s live sessions newest first, and none of anyone else’s', async () => {
      const w = await world()
      const t = w.clock.now()
      const old = row(w, { createdAt: t - 2 * MINUTE })
      const recent = row(w, { createdAt: t - MINUTE })
      const revoked = row(w)
      const expired = row(w, { expiresAt: t })
      const someoneElse = row(w, { userId: w.other.id, authid: w.other.authid })
      for (const session of [old, recent, revoked, expired, someoneElse]) await store(w).insert(session, [])
      await store(w).revoke(w.accountId, w.admin.id, revoked.id, t, [])
      expect((await store(w).list(w.accountId, w.admin.id, t)).map((s) => s.id)).toEqual([recent.id, old.id])
      expect(await store(w).list(w.otherAccountId, w.admin.id, t)).toEqual([])
    })

    it('revokes only a session of that user in that account, once, auditing it', async () => {
      const w = await world()
      const session = row(w)
      await store(w).insert(session, [])
      const t = w.clock.now()
      expect(
        await store(w).revoke(w.accountId, w.other.id, session.id, t, [audit(w, 'console.session.revoked')]),
      ).toBe(false)
      expect(
        await store(w).revoke(w.otherAccountId, w.admin.id, session.id, t, [
          audit(w, 'console.session.revoked'),
        ]),
      ).toBe(false)
      expect(
        await store(w).revoke(w.accountId, w.admin.id, session.id, t, [audit(w, 'console.session.revoked')]),
      ).toBe(true)
      expect(
        await store(w).revoke(w.accountId, w.admin.id, session.id, t, [audit(w, 'console.session.revoked')]),
      ).toBe(false)
      expect((await store(w).find(session.tokenHash, CONSOLE_SYSTEM))?.session.revokedAt).toBe(t)
      expect((await auditTypes(w)).filter((type) => type === 'console.session.revoked')).toHaveLength(1)
    })

    it('sweeps revoked, expired and idle sessions and keeps live ones', async () => {
      const w = await world()
      const t = w.clock.now()
      const live = row(w, { lastSeenAt: t - MINUTE })
      const idle = row(w, { lastSeenAt: t - 31 * MINUTE })
      const expired = row(w, { expiresAt: t - 1 })
      const revoked = row(w)
      for (const session of [live, idle, expired, revoked]) await store(w).insert(session, [])
      await store(w).revoke(w.accountId, w.admin.id, revoked.id, t - 1, [])
      expect(await store(w).sweep(t, t - 30 * MINUTE)).toBe(3)
      expect(await store(w).find(live.tokenHash, CONSOLE_SYSTEM)).not.toBeNull()
      for (const gone of [idle, expired, revoked])
        expect(await store(w).find(gone.tokenHash, CONSOLE_SYSTEM)).toBeNull()
    })

    it('forgets a removed user’s sessions with the user', async () => {
      const w = await world()
      const session = row(w)
      await store(w).insert(session, [])
      await w.account.users.remove(w.admin.authid)
      expect(await store(w).find(session.tokenHash, CONSOLE_SYSTEM)).toBeNull()
    })
  })
}
