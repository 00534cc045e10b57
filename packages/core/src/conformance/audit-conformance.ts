import { describe, expect, it } from 'vitest'
import { verifyAuditChain } from '../audit/audit-chain.js'
import { StorageError } from '../domain/errors.js'
import { newId } from '../domain/secrets.js'
import { draft, freshStorage, insertAccount, SECRET, type StoreSuite, T0 } from './storage-fixture.js'

/** The AuditStore contract: per-account numbering, the HMAC chain, filters and purging. Seeds the account. */
export function auditCases(suite: StoreSuite): void {
  suite.describeStore('audit', () => {
    const f = freshStorage(suite.options, 'account')

    describe('audit trail', () => {
      it('numbers each account’s events from 1 without gaps and pages them by sequence', async () => {
        const other = await insertAccount(f.storage)
        await f.storage.audit.appendAudit([
          draft(f.accountId, 'a'),
          draft(other, 'x'),
          draft(f.accountId, 'b'),
        ])
        await f.storage.audit.appendAudit([
          draft(f.accountId, 'c', { details: { nested: { n: 1 } }, reason: 'wrong_pin' }),
        ])
        const events = await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })
        expect(events.map((e) => [e.seq, e.type])).toEqual([
          [1, 'a'],
          [2, 'b'],
          [3, 'c'],
        ])
        expect(events[2]).toMatchObject({ details: { nested: { n: 1 } }, reason: 'wrong_pin' })
        expect(
          (await f.storage.audit.listAudit({ accountId: f.accountId, after: 1, limit: 1 })).map((e) => e.seq),
        ).toEqual([2])
        expect((await f.storage.audit.listAudit({ accountId: other, limit: 10 })).map((e) => e.seq)).toEqual([
          1,
        ])
      })

      it('keeps sequence numbers unique under concurrent appends', async () => {
        await Promise.all(
          Array.from({ length: 30 }, (_, i) => f.storage.audit.appendAudit([draft(f.accountId, `e${i}`)])),
        )
        const seqs = (await f.storage.audit.listAudit({ accountId: f.accountId, limit: 100 })).map(
          (e) => e.seq,
        )
        expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
      })
    })

    describe('audit chain', () => {
      it('chains a large append (more rows than one statement takes, two accounts) without a gap', async () => {
        const other = await insertAccount(f.storage)
        // 70 and 33 events: more rows than one insert statement takes, and one more than a multiple of it.
        await f.storage.audit.appendAudit([
          ...Array.from({ length: 70 }, (_, i) => draft(f.accountId, `a${i}`)),
          ...Array.from({ length: 33 }, (_, i) => draft(other, `o${i}`)),
        ])
        await f.storage.audit.appendAudit([draft(f.accountId, 'after')])
        const events = await f.storage.audit.listAudit({ accountId: f.accountId, limit: 100 })
        expect(events.map((e) => e.type)).toEqual([...Array.from({ length: 70 }, (_, i) => `a${i}`), 'after'])
        expect(await verifyAuditChain(f.storage, SECRET, f.accountId)).toEqual({
          ok: true,
          events: 71,
          lastSeq: 71,
        })
        expect(await verifyAuditChain(f.storage, SECRET, other)).toEqual({
          ok: true,
          events: 33,
          lastSeq: 33,
        })
      })

      it('chains each event to the previous one and verifies', async () => {
        await f.storage.audit.appendAudit([
          draft(f.accountId, 'a'),
          draft(f.accountId, 'b', { details: { z: 1, a: [1, { y: 2, b: 3 }] } }),
        ])
        await f.storage.audit.appendAudit([draft(f.accountId, 'c')])
        const events = await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })
        expect(events[0]?.prevMac).toBeNull()
        expect(events[1]?.prevMac).toBe(events[0]?.mac)
        expect(events[2]?.prevMac).toBe(events[1]?.mac)
        expect(await f.storage.audit.getAuditHead(f.accountId)).toEqual({
          seq: 3,
          mac: events[2]?.mac,
          anchorSeq: 0,
          anchorMac: null,
          headMac: expect.stringMatching(/^[0-9a-f]{64}$/),
        })
        expect(await verifyAuditChain(f.storage, SECRET, f.accountId)).toEqual({
          ok: true,
          events: 3,
          lastSeq: 3,
        })
        expect(await verifyAuditChain(f.storage, `${SECRET}-other`, f.accountId)).toMatchObject({
          ok: false,
          firstBadSeq: 1,
        })
      })

      it('filters events by time, system, authid, type and outcome', async () => {
        await f.storage.audit.appendAudit([
          draft(f.accountId, 'challenge.started', { at: T0, system: 'payroll', authid: 'alice' }),
          draft(f.accountId, 'challenge.checked', {
            at: T0 + 10,
            system: 'crm',
            authid: 'bob',
            outcome: 'security error',
          }),
          draft(f.accountId, 'challenge.checked', {
            at: T0 + 20,
            system: 'payroll',
            authid: 'alice',
            outcome: 'authenticated',
          }),
        ])
        const seqs = async (filters: object) =>
          (await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10, ...filters })).map(
            (e) => e.seq,
          )
        expect(await seqs({ since: T0 + 10 })).toEqual([2, 3])
        expect(await seqs({ until: T0 + 10 })).toEqual([1])
        expect(await seqs({ system: 'payroll' })).toEqual([1, 3])
        expect(await seqs({ authid: 'bob' })).toEqual([2])
        expect(await seqs({ type: 'challenge.checked', outcome: 'authenticated' })).toEqual([3])
      })

      it('purges a prefix, leaves an anchor, and still verifies', async () => {
        await f.storage.audit.appendAudit(
          [1, 2, 3, 4].map((i) => draft(f.accountId, `e${i}`, { at: T0 + i * 1000 })),
        )
        expect(
          await f.storage.audit.purgeAudit(f.accountId, T0 + 3000, [
            draft(f.accountId, 'audit.purged', { at: T0 + 9000 }),
          ]),
        ).toBe(2)
        expect(
          (await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })).map((e) => e.type),
        ).toEqual(['e3', 'e4', 'audit.purged'])
        expect(await f.storage.audit.getAuditHead(f.accountId)).toMatchObject({ seq: 5, anchorSeq: 2 })
        expect(await verifyAuditChain(f.storage, SECRET, f.accountId)).toEqual({
          ok: true,
          events: 3,
          lastSeq: 5,
        })
        expect(await f.storage.audit.purgeAudit(f.accountId, T0, [])).toBe(0)
      })

      it('keeps the chain whole when appends fail among concurrent ones', async () => {
        // A failing append (its second draft names no account) must take its first event with it: the
        // appends around it, in the same batch where a storage batches, number on without a gap.
        const missing = newId()
        const results = await Promise.allSettled(
          Array.from({ length: 30 }, (_, i) =>
            f.storage.audit.appendAudit(
              i % 3 === 1
                ? [draft(f.accountId, `lost${i}`), draft(missing, 'nowhere')]
                : [draft(f.accountId, `e${i}`)],
            ),
          ),
        )
        expect(results.filter((r) => r.status === 'rejected')).toHaveLength(10)
        const events = await f.storage.audit.listAudit({ accountId: f.accountId, limit: 100 })
        expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
        expect(events.some((e) => e.type.startsWith('lost'))).toBe(false)
        expect(await f.storage.audit.getAuditHead(f.accountId)).toMatchObject({
          seq: 20,
          mac: events[19]?.mac,
        })
        expect(await verifyAuditChain(f.storage, SECRET, f.accountId)).toEqual({
          ok: true,
          events: 20,
          lastSeq: 20,
        })
      })

      it('purges among concurrent appends, and the chain still verifies', async () => {
        const appends = (from: number) =>
          Array.from({ length: 10 }, (_, i) =>
            f.storage.audit.appendAudit([draft(f.accountId, `e${from + i}`, { at: T0 + (from + i) * 1000 })]),
          )
        await Promise.all([
          ...appends(0),
          f.storage.audit.purgeAudit(f.accountId, T0 + 5000, [
            draft(f.accountId, 'audit.purged', { at: T0 + 99_000 }),
          ]),
          ...appends(10),
        ])
        const events = await f.storage.audit.listAudit({ accountId: f.accountId, limit: 100 })
        const last = events[events.length - 1]
        expect(last?.seq).toBe(21)
        expect(await f.storage.audit.getAuditHead(f.accountId)).toMatchObject({ seq: 21, mac: last?.mac })
        expect(await verifyAuditChain(f.storage, SECRET, f.accountId)).toMatchObject({
          ok: true,
          lastSeq: 21,
        })
      })

      it('refuses to append before a sealer is set', async () => {
        const fresh = await suite.options.open()
        try {
          await fresh.storage.migrate()
          await expect(fresh.storage.audit.appendAudit([draft(f.accountId, 'x')])).rejects.toBeInstanceOf(
            StorageError,
          )
        } finally {
          await fresh.storage.close()
          await fresh.cleanup?.()
        }
      })
    })
  })
}
