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
