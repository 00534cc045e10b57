import { describe, expect, it } from 'vitest'
import { adminAudit } from '../admin/account-admin.js'
import { DeliveryError } from '../domain/errors.js'
import type { AdminQueryStore, UserSearchQuery } from '../ports/admin-query-store.js'
import type { AuditDraft } from '../ports/storage.js'
import type { ConsoleWorld } from './console-world.js'

const HOUR = 3_600_000

/** The AdminQueryStore contract; `world()` gives a fresh pair of accounts per test. */
export function adminQueryCases(world: () => Promise<ConsoleWorld>): void {
  const store = (w: ConsoleWorld): AdminQueryStore => {
    const queries = w.storage.adminQueries
    if (!queries) throw new Error('this storage has no admin query store')
    return queries
  }
  const draft = (w: ConsoleWorld, type: string): AuditDraft =>
    adminAudit(w.accountId, 'test', w.clock.now(), type, {})

  describe('admin queries: users', () => {
    const people = async (w: ConsoleWorld) => {
      for (const [authid, displayName, email, phone] of [
        ['alice', 'Alice Adams', 'alice@example.com', '+14155550101'],
        ['alina', 'Alina Adams', 'alina@example.org', '+14155550102'],
        ['albert', null, 'albert@example.com', '+493012345678'],
        ['al%x', 'Percent', null, null],
        ['sam1', 'Sam Same', null, null],
        ['sam2', 'Sam Same', null, null],
        ['sam3', 'Sam Same', null, null],
      ] as const)
        await w.account.users.create({ authid, displayName, email, phone })
      await w.otherAccount.users.create({
        authid: 'alfred',
        displayName: 'Alice Other',
        email: 'alice@other.example',
      })
    }
    const search = async (
      w: ConsoleWorld,
      query: Omit<UserSearchQuery, 'accountId' | 'limit'> & { limit?: number },
    ) => (await store(w).searchUsers({ accountId: w.accountId, limit: 100, ...query })).map((u) => u.authid)

    it('finds users whose field starts with the text, in that field’s order, in the account only', async () => {
      const w = await world()
      await people(w)
      expect(await search(w, { field: 'authid', prefix: 'al' })).toEqual(['al%x', 'albert', 'alice', 'alina'])
      expect(await search(w, { field: 'displayName', prefix: 'Ali' })).toEqual(['alice', 'alina'])
      expect(await search(w, { field: 'email', prefix: 'alice@' })).toEqual(['alice'])
      expect(await search(w, { field: 'phone', prefix: '+1415' })).toEqual(['alice', 'alina'])
      expect(await search(w, { field: 'phone', prefix: '+49' })).toEqual(['albert'])
    })

    it('treats % and _ in the text as themselves, not as wildcards', async () => {
      const w = await world()
      await people(w)
      expect(await search(w, { field: 'authid', prefix: 'al%' })).toEqual(['al%x'])
      expect(await search(w, { field: 'authid', prefix: 'al_' })).toEqual([])
    })

    it('pages through ties with the keyset cursor, every user once', async () => {
      const w = await world()
      await people(w)
      const seen: string[] = []
      let after: UserSearchQuery['after']
      for (;;) {
        const page = await store(w).searchUsers({
          accountId: w.accountId,
          field: 'displayName',
          prefix: 'Sam',
          limit: 2,
          ...(after ? { after } : {}),
        })
        seen.push(...page.map((u) => u.authid))
        const last = page.at(-1)
        if (page.length < 2 || !last) break
        after = { value: last.displayName as string, id: last.id }
      }
      expect(seen.sort()).toEqual(['sam1', 'sam2', 'sam3'])
      const first = await store(w).searchUsers({
        accountId: w.accountId,
        field: 'authid',
        prefix: '',
        limit: 3,
      })
      const rest = await store(w).searchUsers({
        accountId: w.accountId,
        field: 'authid',
        prefix: '',
        limit: 100,
        after: { value: first.at(-1)?.authid as string, id: first.at(-1)?.id as string },
      })
      expect([...first, ...rest].map((u) => u.authid)).toEqual([
        'admin@example.com',
        'al%x',
        'albert',
        'alice',
        'alina',
        'bob',
        'sam1',
        'sam2',
        'sam3',
      ])
    })

    it('filters and counts by status', async () => {
      const w = await world()
      await people(w)
      await w.account.users.update('alina', { status: 'disabled' })
      await w.account.users.update('sam2', { status: 'disabled' })
      expect(await search(w, { field: 'authid', prefix: '', status: 'disabled' })).toEqual(['alina', 'sam2'])
      expect(await search(w, { field: 'displayName', prefix: 'Sam', status: 'disabled' })).toEqual(['sam2'])
      expect(await store(w).countUsers(w.accountId, 'disabled')).toBe(2)
      expect(await store(w).countUsers(w.accountId, 'locked')).toBe(0)
      expect(await store(w).countUsers(w.otherAccountId, 'disabled')).toBe(0)
    })
  })

  describe('admin queries: the outbox', () => {
    /** A system and three users with a login each: one failed (waiting), one abandoned, one sent. */
    /**
     * A start, once its delivery's outcome is written: that happens behind the send, and on a pool of
     * connections a read could overtake it. `challenge.delivery` follows the write.
     */
    const startAndRecord = async (w: ConsoleWorld, authid: string) => {
      const recorded = new Promise((resolve) => w.engine.events.once('challenge.delivery', resolve))
      await w.account.start({ system: 'payroll', authid })
      await recorded
    }
    const outbox = async (w: ConsoleWorld) => {
      await w.account.systems.create({
        name: 'payroll',
        policies: { passwordless: { enabled: true, channels: ['email'] } },
      })
      for (const authid of ['carol', 'dave', 'erin']) {
        await w.account.users.create({ authid, email: `${authid}@example.com` })
        await w.account.users.assign(authid, [{ system: 'payroll', method: 'passwordless' }])
      }
      w.notifier.failNext(new DeliveryError('temporary', '451 try later'))
      await startAndRecord(w, 'carol')
      w.clock.advance(1000)
      w.notifier.failNext(new DeliveryError('permanent', '550 no such mailbox'))
      await startAndRecord(w, 'dave')
      w.clock.advance(1000)
      await startAndRecord(w, 'erin')
    }

    it('lists waiting deliveries soonest first and abandoned ones newest first, never a payload', async () => {
      const w = await world()
      await outbox(w)
      // Past carol's first retry however it was jittered (retries spread over the link's lifetime:
      // the first waits 7.7 to 15.5 s), so erin's is due after hers.
      w.clock.advance(20_000)
      w.notifier.failNext(new DeliveryError('temporary', '451 again'))
      await startAndRecord(w, 'erin')
      const waiting = await store(w).listDeliveries({ accountId: w.accountId, queue: 'waiting', limit: 10 })
      expect(waiting.map((d) => [d.authid, d.system, d.status, d.lastError])).toEqual([
        ['carol', 'payroll', 'failed', '451 try later'],
        ['erin', 'payroll', 'failed', '451 again'],
      ])
      expect(waiting[0]?.nextAttemptAt).toBeLessThanOrEqual(waiting[1]?.nextAttemptAt as number)
      expect(waiting.every((d) => !('payload' in d))).toBe(true)
      const first = waiting[0] as (typeof waiting)[number]
      const next = await store(w).listDeliveries({
        accountId: w.accountId,
        queue: 'waiting',
        limit: 10,
        after: { at: first.nextAttemptAt, id: first.id },
      })
      expect(next.map((d) => d.authid)).toEqual(['erin'])
      const abandoned = await store(w).listDeliveries({
        accountId: w.accountId,
        queue: 'abandoned',
        limit: 10,
      })
      expect(abandoned.map((d) => [d.authid, d.status, d.lastError])).toEqual([
        ['dave', 'abandoned', '550 no such mailbox'],
      ])
      expect(
        await store(w).listDeliveries({ accountId: w.otherAccountId, queue: 'waiting', limit: 10 }),
      ).toEqual([])
      expect(await store(w).countDeliveries(w.accountId, w.clock.now() - HOUR)).toEqual({
        waiting: 2,
        abandoned: 1,
      })
      expect(await store(w).countDeliveries(w.accountId, w.clock.now() + 1)).toEqual({
        waiting: 2,
        abandoned: 0,
      })
    })

    it('requeues a waiting delivery of the account, and nothing final, claimed, expired or foreign', async () => {
      const w = await world()
      await outbox(w)
      const [waiting] = await store(w).listDeliveries({ accountId: w.accountId, queue: 'waiting', limit: 1 })
      const [abandoned] = await store(w).listDeliveries({
        accountId: w.accountId,
        queue: 'abandoned',
        limit: 1,
      })
      if (!waiting || !abandoned) throw new Error('the outbox was not set up')
      const at = w.clock.now()
      expect(await store(w).requeueDelivery(w.otherAccountId, waiting.id, at, [])).toBe(false)
      expect(
        await store(w).requeueDelivery(w.accountId, abandoned.id, at, [draft(w, 'delivery.requeued')]),
      ).toBe(false)
      expect(
        await store(w).requeueDelivery(w.accountId, waiting.id, at, [draft(w, 'delivery.requeued')]),
      ).toBe(true)
      const [moved] = await store(w).listDeliveries({ accountId: w.accountId, queue: 'waiting', limit: 1 })
      expect(moved).toMatchObject({ id: waiting.id, nextAttemptAt: at })
      const audited = await w.storage.audit.listAudit({
        accountId: w.accountId,
        type: 'delivery.requeued',
        limit: 10,
      })
      expect(audited).toHaveLength(1)
      w.clock.set(waiting.expiresAt)
      expect(await store(w).requeueDelivery(w.accountId, waiting.id, w.clock.now(), [])).toBe(false)
    })

    it('does not requeue a delivery that a dispatcher holds', async () => {
      const w = await world()
      await outbox(w)
      await w.account.settings.update({ uniformResponses: true })
      const release = w.holdNextSend()
      await w.account.start({ system: 'payroll', authid: 'erin' })
      const held = (
        await store(w).listDeliveries({ accountId: w.accountId, queue: 'waiting', limit: 10 })
      ).find((d) => d.authid === 'erin')
      expect(held?.claimedUntil).toBeGreaterThan(w.clock.now())
      expect(await store(w).requeueDelivery(w.accountId, held?.id as string, w.clock.now(), [])).toBe(false)
      release()
    })

    it('counts the account’s live challenges', async () => {
      const w = await world()
      await outbox(w)
      expect(await store(w).countLiveChallenges(w.accountId, w.clock.now())).toBe(3)
      expect(await store(w).countLiveChallenges(w.otherAccountId, w.clock.now())).toBe(0)
      expect(await store(w).countLiveChallenges(w.accountId, w.clock.now() + HOUR)).toBe(0)
    })
  })

  describe('admin queries: the audit trail and login counts', () => {
    it('reads a window of the trail newest first, filtered, and finds the event at a sequence number', async () => {
      const w = await world()
      for (const [i, authid] of ['u1', 'u2', 'u3', 'u4'].entries()) {
        w.clock.advance(1000)
        await w.account.users.create({ authid, displayName: `User ${i}` })
      }
      const all = await w.storage.audit.listAudit({ accountId: w.accountId, limit: 1000 })
      const head = all.at(-1)?.seq as number
      const window = await store(w).newestAudit({
        accountId: w.accountId,
        below: head + 1,
        atLeast: head - 2,
        limit: 10,
      })
      expect(window.map((e) => e.seq)).toEqual([head, head - 1, head - 2])
      const one = await store(w).newestAudit({
        accountId: w.accountId,
        below: head + 1,
        atLeast: 1,
        limit: 10,
        type: 'user.created',
        authid: 'u2',
      })
      expect(one.map((e) => e.authid)).toEqual(['u2'])
      const timed = await store(w).newestAudit({
        accountId: w.accountId,
        below: head + 1,
        atLeast: 1,
        limit: 10,
        since: all.at(-2)?.at as number,
      })
      expect(timed.map((e) => e.seq)).toEqual([head, head - 1])
      expect(await store(w).auditAtOrAfter(w.accountId, head)).toEqual({ seq: head, at: all.at(-1)?.at })
      expect(await store(w).auditAtOrAfter(w.accountId, head + 1)).toBeNull()
      expect(
        await store(w).newestAudit({ accountId: w.otherAccountId, below: head + 1, atLeast: 1, limit: 10 }),
      ).toEqual([])
    })

    it('adds login counts once per batch of events, and reads them by hour', async () => {
      const w = await world()
      const hour = 490_000
      expect(await store(w).adminState(w.accountId)).toEqual({
        countedSeq: 0,
        verifiedAt: null,
        verdict: null,
      })
      const batch = [
        { hour, system: 'payroll', succeeded: 2, failed: 1 },
        { hour: hour + 1, system: 'payroll', succeeded: 1, failed: 0 },
      ]
      expect(await store(w).addLoginCounts(w.accountId, 0, 10, batch)).toBe(true)
      // A second process that read the same batch finds the watermark moved, and adds nothing.
      expect(await store(w).addLoginCounts(w.accountId, 0, 10, batch)).toBe(false)
      expect(
        await store(w).addLoginCounts(w.accountId, 10, 12, [
          { hour, system: 'payroll', succeeded: 0, failed: 4 },
        ]),
      ).toBe(true)
      expect(await store(w).addLoginCounts(w.accountId, 12, 13, [])).toBe(true)
      expect((await store(w).adminState(w.accountId)).countedSeq).toBe(13)
      expect(await store(w).loginCounts(w.accountId, hour, hour + 1)).toEqual([
        { hour, system: 'payroll', succeeded: 2, failed: 5 },
      ])
      expect(await store(w).loginCounts(w.accountId, hour, hour + 2)).toHaveLength(2)
      expect(await store(w).loginCounts(w.otherAccountId, hour, hour + 2)).toEqual([])
    })

    it('keeps the latest verification of the chain', async () => {
      const w = await world()
      await store(w).recordVerdict(w.accountId, 1000, { ok: true, events: 7, lastSeq: 7 })
      expect(await store(w).adminState(w.accountId)).toEqual({
        countedSeq: 0,
        verifiedAt: 1000,
        verdict: { ok: true, events: 7, lastSeq: 7 },
      })
      await store(w).recordVerdict(w.accountId, 2000, {
        ok: false,
        firstBadSeq: 3,
        problem: 'event 3 is missing',
      })
      expect(await store(w).adminState(w.accountId)).toMatchObject({
        verifiedAt: 2000,
        verdict: { ok: false, firstBadSeq: 3, problem: 'event 3 is missing' },
      })
    })
  })
}
