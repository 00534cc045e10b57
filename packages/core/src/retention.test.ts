import { afterEach, describe, expect, it } from 'vitest'
import { ValidationError } from './domain/errors.js'
import { type EngineFixture, engineFixture } from './testing/engine-fixture.js'

const login = { system: 'payroll', authid: 'alice' }
const DAY = 86_400_000

let f: EngineFixture
afterEach(async () => {
  await f.close()
})

describe('retention of ended challenges (S35)', () => {
  it('keeps an ended challenge and its delivery for 30 days after expiry, then runDue deletes both', async () => {
    f = await engineFixture()
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    const started = await f.acme.start(login)
    expect(started).toMatchObject({ result: 'success', delivery: 'sent' })
    await f.engine.links.confirm(f.notifier.last().token as string)
    expect(await f.acme.check(login)).toMatchObject({ result: 'authenticated' })
    const audited = (await f.acme.audit.list()).events.length

    f.clock.advance(29 * DAY)
    expect(await f.engine.runDue()).toMatchObject({ challengesPurged: 0 })
    expect([f.rows('challenges').length, f.rows('deliveries').length]).toEqual([1, 1])

    f.clock.advance(DAY + 600_001)
    expect(await f.engine.runDue()).toMatchObject({ challengesPurged: 1 })
    expect([f.rows('challenges').length, f.rows('deliveries').length]).toEqual([0, 0])
    // The trail keeps every event, and still verifies.
    expect((await f.acme.audit.list()).events.length).toBeGreaterThanOrEqual(audited)
    expect(await f.acme.audit.verify()).toMatchObject({ ok: true })
    expect(await f.acme.check(login)).toEqual({ result: 'security error', reason: 'no_pending_challenge' })
  })

  it('takes the period from the engine’s options, and leaves a live challenge alone', async () => {
    f = await engineFixture({ retention: { endedChallengesDays: 1 } })
    await f.acme.systems.create({ name: 'crm', policies: { pin: { enabled: true, lifetimeSeconds: 600 } } })
    await f.acme.users.assign('alice', [
      { system: 'payroll', method: 'pin' },
      { system: 'crm', method: 'pin' },
    ])
    await f.acme.start(login)
    await f.acme.start(login)
    f.clock.advance(DAY - 1)
    expect(await f.engine.runDue()).toMatchObject({ expired: 1, challengesPurged: 0 })
    await f.acme.start({ system: 'crm', authid: 'alice' })
    f.clock.advance(300_002)
    // Superseded and expired: a day past their expiry. The crm one is live: it stays.
    expect(await f.engine.runDue()).toMatchObject({ challengesPurged: 2 })
    expect(f.rows('challenges').map((row) => row.status)).toEqual(['pending'])
  })

  it('refuses a retention that is not a whole number of days', async () => {
    await expect(engineFixture({ retention: { endedChallengesDays: 0 } })).rejects.toThrow(ValidationError)
    f = await engineFixture()
  })
})

describe('the stored context is capped at 4 KiB (S35)', () => {
  it('refuses a context over 4 KiB as JSON with a ValidationError naming context, storing nothing', async () => {
    f = await engineFixture()
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    // 32 keys of 1000 characters: within each key's limit, ~33 KB in all.
    const context = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'x'.repeat(1000)]))
    const refused = f.acme.start({ ...login, context })
    await expect(refused).rejects.toThrow(ValidationError)
    await expect(refused).rejects.toMatchObject({ field: 'context' })
    expect(f.rows('challenges')).toEqual([])
  })

  it('accepts a context of exactly 4096 bytes as JSON and refuses 4097, counting bytes, not characters', async () => {
    f = await engineFixture()
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    // {"a":"…","b":"…","c":"…","d":"…"}: 5 bytes of braces and commas, 6 around each value.
    const full = { a: 'x'.repeat(1024), b: 'x'.repeat(1024), c: 'x'.repeat(1024) }
    expect(await f.acme.start({ ...login, context: { ...full, d: 'x'.repeat(995) } })).toMatchObject({
      result: 'success',
    })
    await expect(f.acme.start({ ...login, context: { ...full, d: 'x'.repeat(996) } })).rejects.toMatchObject({
      field: 'context',
    })
    // 1,000 two-byte characters are 2,000 bytes: three such values pass every per-value limit, not the whole.
    const wide = Object.fromEntries(['a', 'b', 'c'].map((k) => [k, 'é'.repeat(1000)]))
    await expect(f.acme.start({ ...login, context: wide })).rejects.toMatchObject({ field: 'context' })
  })
})
