import { createHmac, hkdfSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { AuditDraft } from '../ports/rows.js'
import { auditSealer } from './audit-chain.js'
import { auditDraftsByAccount, sealAuditDrafts } from './audit-sealing.js'

const sealer = auditSealer('a secret long enough for the audit chain')
const draft = (accountId: string, type: string, details: AuditDraft['details'] = null): AuditDraft => ({
  accountId,
  at: 1000,
  type,
  actor: 'api',
  system: 'payroll',
  authid: 'alice',
  challengeId: null,
  outcome: 'success',
  reason: null,
  ip: null,
  userAgent: null,
  details,
})
// A chain purged once: it ends at 7 and starts after 3.
const head = { accountId: 'acme', seq: 7, mac: 'mac-7', anchorSeq: 3, anchorMac: 'mac-3' }

describe('sealAuditDrafts', () => {
  it('numbers the drafts after the head and links each to the previous MAC', () => {
    const { events } = sealAuditDrafts(sealer, head, [draft('acme', 'a'), draft('acme', 'b')])
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [8, 'a'],
      [9, 'b'],
    ])
    expect(events[0]?.prevMac).toBe('mac-7')
    expect(events[1]?.prevMac).toBe(events[0]?.mac)
    expect(events[1]?.mac).toBe(sealer.event(events[0]?.mac ?? null, { ...draft('acme', 'b'), seq: 9 }))
  })

  it('seals the new head over where the chain ends and where it starts', () => {
    const sealed = sealAuditDrafts(sealer, head, [draft('acme', 'a'), draft('acme', 'b')])
    const last = sealed.events[1]?.mac ?? null
    expect(sealed.head).toEqual({
      seq: 9,
      mac: last,
      anchorSeq: 3,
      anchorMac: 'mac-3',
      headMac: sealer.head({ accountId: 'acme', seq: 9, mac: last, anchorSeq: 3, anchorMac: 'mac-3' }),
    })
  })

  it('seals details as they read back from JSON', () => {
    const [event] = sealAuditDrafts(sealer, head, [
      draft('acme', 'a', { kept: 1, dropped: undefined }),
    ]).events
    expect(event?.details).toEqual({ kept: 1 })
    expect(Object.keys(event?.details ?? {})).toEqual(['kept'])
  })

  it('refuses a draft of another account', () => {
    expect(() => sealAuditDrafts(sealer, head, [draft('globex', 'a')])).toThrow(/globex/)
  })

  it('groups drafts by account in the order accounts first appear', () => {
    const grouped = auditDraftsByAccount([draft('b', '1'), draft('a', '2'), draft('b', '3')])
    expect([...grouped].map(([id, list]) => [id, list.map((d) => d.type)])).toEqual([
      ['b', ['1', '3']],
      ['a', ['2']],
    ])
  })
})

describe('the sealed bytes', () => {
  // Chains already stored were sealed over these bytes: a faster canonical form must give the same MACs.
  // The expected MACs are computed here from the format written out by hand (S27): HMAC-SHA-256 under
  // HKDF(secret, 'flexsecure', 'audit-chain-v1'), over the previous MAC, a newline, and the event's fields
  // as a JSON array with object keys sorted at every depth.
  const secret = 'a secret long enough for the audit chain'
  const key = Buffer.from(hkdfSync('sha256', secret, 'flexsecure', 'audit-chain-v1', 32))
  const mac = (text: string) => createHmac('sha256', key).update(text).digest('hex')

  it('seals an event over its fields in order, details with keys sorted at every depth', () => {
    const details = { z: 'é"\n\u2028', a: [1, { y: null, b: 2.5 }, 'x'], m: { k: true, c: -0, n: 1e21 } }
    const [event] = sealAuditDrafts(sealer, head, [
      { ...draft('acme', 'challenge.started', details), challengeId: 'c1', ip: '::1', userAgent: 'ua' },
    ]).events
    const bytes =
      'mac-7\n["acme",8,1000,"challenge.started","api","payroll","alice","c1","success",null,"::1","ua",' +
      '{"a":[1,{"b":2.5,"y":null},"x"],"m":{"c":0,"k":true,"n":1e+21},"z":"é\\"\\n\u2028"}]'
    expect(event?.mac).toBe(mac(bytes))
  })

  it('seals an event without details, and the head, as they always were', () => {
    const sealed = sealAuditDrafts(sealer, head, [draft('acme', 'link.confirmed')])
    const [event] = sealed.events
    expect(event?.mac).toBe(
      mac(
        'mac-7\n["acme",8,1000,"link.confirmed","api","payroll","alice",null,"success",null,null,null,null]',
      ),
    )
    expect(sealed.head.headMac).toBe(mac(`head\n["acme",8,${JSON.stringify(event?.mac)},3,"mac-3"]`))
  })
})
