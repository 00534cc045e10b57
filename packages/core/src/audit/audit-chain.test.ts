import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AuditEvent, AuditHead } from '../ports/storage.js'
import { type EngineFixture, engineFixture, TEST_SECRET } from '../testing/engine-fixture.js'
import { auditSealer, verifyAuditChain } from './audit-chain.js'

let f: EngineFixture
const login = { system: 'payroll', authid: 'alice' }

beforeEach(async () => {
  f = await engineFixture()
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
  for (let i = 0; i < 3; i++) {
    await f.acme.start(login)
    await f.acme.check({ ...login, pin: f.notifier.last().pin as string })
  }
})
afterEach(async () => {
  await f.close()
})

const verify = () => verifyAuditChain(f.storage, TEST_SECRET, f.acme.id)
/** Edits the stored audit events behind the engine's back: null deletes one. */
const editEvents = (edit: (event: AuditEvent) => AuditEvent | null) => f.tamper('auditEvents', edit)
/** Rewrites the account's stored audit head. */
const editHead = (change: Partial<AuditHead>) => f.tamper('auditHeads', (head) => ({ ...head, ...change }))

describe('verifyAuditChain', () => {
  it('verifies an untouched trail', async () => {
    const head = f.rows('auditHeads')[0]
    expect(await verify()).toEqual({ ok: true, events: Number(head?.seq), lastSeq: Number(head?.seq) })
    expect(await f.acme.audit.verify()).toMatchObject({ ok: true })
  })

  it('names an edited event', async () => {
    editEvents((e) => (e.seq === 6 ? { ...e, outcome: 'success' } : e))
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 6 })
  })

  it('names a deleted event in the middle', async () => {
    editEvents((e) => (e.seq === 5 ? null : e))
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 5, problem: 'event 5 is missing' })
  })

  it('notices a deleted tail through the stored head', async () => {
    const last = Number(f.rows('auditHeads')[0]?.seq)
    editEvents((e) => (e.seq >= last - 1 ? null : e))
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: last - 1 })
  })

  it('refuses a chain recomputed with another key, head included', async () => {
    const forge = auditSealer('someone-else-entirely-without-the-key')
    const events = (await f.storage.audit.listAudit({ accountId: f.acme.id, limit: 1000 })) as AuditEvent[]
    let previous: string | null = null
    const forged = new Map<number, AuditEvent>()
    for (const event of events) {
      const mac: string = forge.event(previous, event)
      forged.set(event.seq, { ...event, prevMac: previous, mac })
      previous = mac
    }
    editEvents((e) => forged.get(e.seq) ?? e)
    const head = f.rows('auditHeads')[0]!
    const headMac = forge.head({
      accountId: f.acme.id,
      seq: Number(head.seq),
      mac: previous,
      anchorSeq: 0,
      anchorMac: null,
    })
    editHead({ mac: previous, headMac })
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 1 })
  })

  it('notices a trimmed tail whose head was rewritten to match, by the head’s own MAC', async () => {
    const last = Number(f.rows('auditHeads')[0]?.seq)
    const kept = f.rows('auditEvents').find((e) => e.seq === last - 2)!
    editEvents((e) => (e.seq > last - 2 ? null : e))
    editHead({ seq: last - 2, mac: kept.mac })
    expect(await verify()).toMatchObject({
      ok: false,
      firstBadSeq: last - 1,
      problem: expect.stringContaining('head'),
    })
  })

  it('notices old events deleted behind a forged anchor', async () => {
    const kept = f.rows('auditEvents').find((e) => e.seq === 4)!
    editEvents((e) => (e.seq <= 4 ? null : e))
    editHead({ anchorSeq: 4, anchorMac: kept.mac })
    expect(await verify()).toMatchObject({ ok: false, problem: expect.stringContaining('head') })
  })

  it('verifies nothing at all as broken when every event and the anchor were wiped', async () => {
    const head = f.rows('auditHeads')[0]!
    editEvents(() => null)
    editHead({ anchorSeq: head.seq, anchorMac: head.mac })
    expect(await verify()).toMatchObject({ ok: false })
  })

  it('verifies after a purge, from the anchor', async () => {
    f.clock.advance(60_000)
    await f.acme.start(login)
    const { purged } = await f.acme.audit.purge({ before: new Date(f.clock.now()) })
    expect(purged).toBeGreaterThan(10)
    expect(f.rows('auditHeads')[0]).toMatchObject({ anchorSeq: purged })
    expect(await verify()).toMatchObject({ ok: true })
    const types = (await f.acme.audit.list()).events.map((e) => e.type)
    expect(types).toEqual(['challenge.started', 'delivery', 'delivery', 'audit.purged'])
  })

  it('purges by each account’s retention in runDue', async () => {
    await f.acme.settings.update({ auditRetentionDays: 1 })
    f.clock.advance(2 * 86_400_000)
    const { auditPurged } = await f.engine.runDue()
    expect(auditPurged).toBeGreaterThan(10)
    expect((await f.acme.audit.list()).events.map((e) => e.type)).toEqual(['audit.purged'])
    expect(await verify()).toMatchObject({ ok: true })
  })
})

describe('audit.list', () => {
  it('filters and pages with a cursor', async () => {
    const page1 = await f.acme.audit.list({ type: 'challenge.checked', limit: 2 })
    expect(page1.events.map((e) => e.outcome)).toEqual(['authenticated', 'authenticated'])
    const page2 = await f.acme.audit.list({
      type: 'challenge.checked',
      limit: 2,
      after: page1.next as number,
    })
    expect([page2.events.length, page2.next]).toEqual([1, null])
    expect((await f.acme.audit.list({ authid: 'bob' })).events).toEqual([])
  })
})
