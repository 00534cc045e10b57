import { afterEach, describe, expect, it, vi } from 'vitest'
import type { PinHasher } from '../ports/pin-hasher.js'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'
import { cheapHasher } from '../testing/index.js'
import type { ThrottleInput } from './login-throttle.js'
import { resolveThrottle } from './login-throttle.js'

// S31: refusals are cheap for us and throttled. S19: polls are counted per login as storage resolved it.

let f: EngineFixture
let hashes = 0
const counting = (): PinHasher => {
  const inner = cheapHasher()
  return {
    hash: (pin) => {
      hashes++
      return inner.hash(pin)
    },
    verify: (hash, pin) => inner.verify(hash, pin),
  }
}
/** A key's budget of 5 calls that (for the length of a test) never refills. */
const tight = { burst: 5, perSecond: 0.000_001 }

async function fixture(throttle: ThrottleInput) {
  hashes = 0
  // One-time PINs through the counted hasher (argon2id mode), so every hash is seen.
  f = await engineFixture({ hasher: counting(), pinHashing: 'argon2id', throttle })
  await f.acme.settings.update({ sendLimits: { perUserPerHour: 10_000, perDestinationPerHour: 10_000 } })
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
}
afterEach(async () => {
  await f.close()
})

const auditCount = () => f.rows('auditEvents').length

describe('request budgets (S31)', () => {
  it('refuses starts past a key’s budget before any read, hash or write, for unknown users too', async () => {
    await fixture({ start: { perKey: tight } })
    await f.acme.settings.update({ uniformResponses: true })
    const reads = vi.spyOn(f.storage.logins, 'resolveLogin')
    const before = auditCount()
    const answers = []
    for (let i = 0; i < 20; i++)
      answers.push(await f.acme.start({ system: 'payroll', authid: `nobody${i}` }, { apiKeyId: 'k1' }))
    expect(answers.filter((a) => a.result === 'success')).toHaveLength(5)
    expect(answers.slice(5)).toEqual(Array(15).fill({ result: 'rate limited', retryAfter: expect.any(Date) }))
    expect(reads).toHaveBeenCalledTimes(5)
    expect(hashes).toBe(5)
    expect(auditCount() - before).toBe(5)
  })

  it('refuses checks past a key’s budget before any read or write', async () => {
    await fixture({ check: { perKey: tight } })
    const reads = vi.spyOn(f.storage.logins, 'pollLogin')
    const wholeReads = vi.spyOn(f.storage.logins, 'resolveLogin')
    const before = auditCount()
    const answers = []
    for (let i = 0; i < 20; i++)
      answers.push(
        (await f.acme.check({ system: 'payroll', authid: `nobody${i}` }, { apiKeyId: 'k1' })).result,
      )
    expect(answers).toEqual([...Array(5).fill('security error'), ...Array(15).fill('rate limited')])
    expect([reads.mock.calls.length, wholeReads.mock.calls.length]).toEqual([5, 0])
    expect(auditCount() - before).toBe(5)
  })

  it('keeps another key’s logins going while one key floods the account', async () => {
    await fixture({ start: { perKey: tight, perAccount: { burst: 12, perSecond: 0.000_001 } } })
    for (let i = 0; i < 50; i++)
      await f.acme.start({ system: 'payroll', authid: `nobody${i}` }, { apiKeyId: 'flood' })
    expect(await f.acme.start({ system: 'payroll', authid: 'alice' }, { apiKeyId: 'host' })).toMatchObject({
      result: 'success',
      challengeId: expect.any(String),
    })
  })

  it('refills with time from the injected clock', async () => {
    await fixture({ check: { perKey: { burst: 2, perSecond: 1 } } })
    const poll = () => f.acme.check({ system: 'payroll', authid: 'nobody' }, { apiKeyId: 'k1' })
    await poll()
    await poll()
    expect(await poll()).toMatchObject({ result: 'rate limited', retryAfter: new Date(f.clock.now() + 1000) })
    f.clock.advance(1000)
    expect(await poll()).toMatchObject({ result: 'security error' })
  })
})

describe('refusal summaries (S31)', () => {
  it('audits refusals one by one up to the minute’s budget, then one summary event with the counts', async () => {
    await fixture({
      auditedRefusalsPerMinute: 10,
      start: { perKey: { burst: 30, perSecond: 0.000_001 } },
    })
    const before = auditCount()
    for (let i = 0; i < 100; i++)
      await f.acme.check({ system: 'payroll', authid: `nobody${i}` }, { apiKeyId: 'k1' })
    for (let i = 0; i < 40; i++) await f.acme.start({ system: 'nope', authid: `x${i}` }, { apiKeyId: 'k1' })
    expect(auditCount() - before).toBe(10)
    f.clock.advance(60_000)
    await f.engine.runDue()
    const summaries = (await f.acme.audit.list({ type: 'refusals.summarized' })).events
    expect(summaries).toHaveLength(1)
    expect(summaries[0]).toMatchObject({
      actor: 'k1',
      outcome: 'summary',
      details: {
        total: 130,
        counts: { 'check: unknown_user': 90, 'start: unknown_system': 30, 'start: rate limited': 10 },
      },
    })
    // Written once: the next sweep has nothing new to say.
    await f.engine.runDue()
    expect((await f.acme.audit.list({ type: 'refusals.summarized' })).events).toHaveLength(1)
    expect(await f.acme.audit.verify()).toMatchObject({ ok: true })
  })
})

describe('poll budgets per login (S19)', () => {
  it('counts every spelling that storage resolves to one user against that user’s budget', async () => {
    await fixture({ polls: { burst: 10, perSecond: 0.000_001 } })
    // What a case- and accent-insensitive collation does (MariaDB's default before S38), to both reads.
    const folded = (authid: string) => authid.normalize('NFD').replace(/\p{M}/gu, '').trim().toLowerCase()
    const { resolveLogin, pollLogin } = f.storage.logins
    vi.spyOn(f.storage.logins, 'resolveLogin').mockImplementation((account, system, authid) =>
      resolveLogin.call(f.storage.logins, account, system, folded(authid)),
    )
    const poll = vi
      .spyOn(f.storage.logins, 'pollLogin')
      .mockImplementation((account, system, authid) =>
        (pollLogin as NonNullable<typeof pollLogin>).call(f.storage.logins, account, system, folded(authid)),
      )
    await f.acme.start({ system: 'payroll', authid: 'alice' })
    const spellings = ['alice', 'ALICE', 'Alice ', 'ÁLICE', 'alicE']
    const answers = []
    for (let i = 0; i < 20; i++)
      answers.push((await f.acme.check({ system: 'payroll', authid: spellings[i % 5] as string })).result)
    expect(answers.filter((a) => a === 'pending')).toHaveLength(10)
    expect(answers.slice(10)).toEqual(Array(10).fill('rate limited'))
    expect(poll).toHaveBeenCalledTimes(20)
  })
})

describe('throttle settings', () => {
  it('refuses a bad value naming its field', () => {
    expect(() => resolveThrottle({ start: { perKey: { burst: 0 } } })).toThrow(/throttle.start.perKey.burst/)
    expect(() => resolveThrottle({ polls: { perSecond: -1 } })).toThrow(/throttle.polls.perSecond/)
    expect(() => resolveThrottle({ checks: {} })).toThrow(/throttle.checks/)
  })
})
