import { describe, expect, it } from 'vitest'
import { newTimeOrderedId } from '../domain/secrets.js'
import { DEFAULT_POLICIES } from '../policy/system-policy.js'
import type { AssignmentRow } from '../ports/rows.js'
import { decoys } from './decoys.js'

// S20: a decoy's id and expiry must read as a real start's (the start's time first, the expiry to the
// millisecond), and any engine with the same secret must open it, bound to the names it was issued for.

const SECRET = 'decoy-secret-decoy-secret-decoy-secret'
const login = { accountId: 'acct', system: 'payroll', authid: 'nobody' }
const target = { ...login, systemRow: null, assignment: null }
// A time with milliseconds, as the wall clock has.
const NOW = 1_765_000_000_123

describe('decoy ids', () => {
  it('begin with the start’s time and expire to the millisecond, as a real start’s do', () => {
    const answer = decoys(SECRET).start(target, NOW)
    expect(answer.challengeId).toMatch(/^[A-Za-z0-9_-]{24}$/)
    expect(answer.challengeId.slice(0, 8)).toBe(newTimeOrderedId(NOW).slice(0, 8))
    // With no system row the lifetime is the default method's (passwordless: 600 s).
    expect(answer.method).toBe('passwordless')
    expect(answer.expiresAt.getTime()).toBe(NOW + DEFAULT_POLICIES.passwordless.lifetimeSeconds * 1000)
    // Two decoys of the same millisecond share the prefix only.
    const other = decoys(SECRET).start(target, NOW)
    expect(other.challengeId.slice(0, 8)).toBe(answer.challengeId.slice(0, 8))
    expect(other.challengeId).not.toBe(answer.challengeId)
  })

  it('open on another engine with the same secret, bound to their names, and expire when they said', () => {
    const { challengeId, expiresAt } = decoys(SECRET).start(target, NOW)
    const elsewhere = decoys(SECRET)
    expect(elsewhere.check(challengeId, login, null, NOW + 1)).toMatchObject({
      result: 'pending',
      challengeId,
      method: 'passwordless',
      channel: 'email',
    })
    expect(elsewhere.check(challengeId, { ...login, authid: 'somebody' }, null, NOW + 1)).toBeNull()
    expect(
      decoys('another-secret-another-secret-another').check(challengeId, login, null, NOW + 1),
    ).toBeNull()
    expect(elsewhere.check(challengeId, login, null, expiresAt.getTime() - 1)).toMatchObject({
      result: 'pending',
    })
    expect(elsewhere.check(challengeId, login, null, expiresAt.getTime())).toEqual({ result: 'expired' })
  })

  it('carry the method and channel a real start would name, opened elsewhere as issued', () => {
    const assignment = { method: 'pin', channel: 'sms' } as AssignmentRow
    const { challengeId, expiresAt, method, channel } = decoys(SECRET).start({ ...target, assignment }, NOW)
    expect([method, channel]).toEqual(['pin', 'sms'])
    expect(expiresAt.getTime()).toBe(NOW + DEFAULT_POLICIES.pin.lifetimeSeconds * 1000)
    expect(decoys(SECRET).check(challengeId, login, null, NOW + 1)).toMatchObject({
      method: 'pin',
      channel: 'sms',
    })
  })

  it('refuse an id changed in any character, named for another account or system, or of another form', () => {
    const { challengeId } = decoys(SECRET).start(target, NOW)
    const elsewhere = decoys(SECRET)
    for (let i = 0; i < challengeId.length; i++) {
      const changed =
        challengeId.slice(0, i) + (challengeId[i] === 'A' ? 'B' : 'A') + challengeId.slice(i + 1)
      expect(elsewhere.check(changed, login, null, NOW + 1), `character ${i}`).toBeNull()
    }
    expect(elsewhere.check(challengeId, { ...login, accountId: 'other' }, null, NOW + 1)).toBeNull()
    expect(elsewhere.check(challengeId, { ...login, system: 'crm' }, null, NOW + 1)).toBeNull()
    for (const id of ['AAAAAAAAAAAAAAAAAAAAAAAA', newTimeOrderedId(NOW), challengeId.slice(0, 23), ''])
      expect(elsewhere.check(id, login, null, NOW + 1), id).toBeNull()
  })
})
