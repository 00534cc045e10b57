import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'

const login = { system: 'payroll', authid: 'alice' }
const MINUTE = 60_000
const HOUR = 60 * MINUTE

let f: EngineFixture
beforeEach(async () => {
  f = await engineFixture()
})
afterEach(async () => {
  await f.close()
})

/** Starts a PIN challenge and sends `count` wrong PINs to it. */
async function failPins(count: number) {
  const started = await f.acme.start(login)
  if (started.result !== 'success') return started
  const pin = f.notifier.last().pin as string
  const wrong = pin.replace(/^\d/, (d) => String((Number(d) + 1) % 10))
  for (let i = 0; i < count; i++) await f.acme.check({ ...login, pin: wrong })
  return started
}

describe('failure streaks and lockout (S17)', () => {
  beforeEach(async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    await f.acme.settings.update({ sendLimits: { perUserPerHour: 10_000, perDestinationPerHour: 10_000 } })
  })

  it('delays the next start after 5 consecutive failures, then doubles the delay', async () => {
    await failPins(5)
    const refused = await f.acme.start(login)
    expect(refused).toEqual({ result: 'rate limited', retryAfter: new Date(f.clock.now() + 30_000) })
    f.clock.advance(30_000)
    await failPins(1)
    expect(await f.acme.start(login)).toEqual({
      result: 'rate limited',
      retryAfter: new Date(f.clock.now() + 60_000),
    })
    expect((await f.acme.audit.list({ outcome: 'rate limited' })).events).toHaveLength(2)
  })

  it('counts failures across challenges and resets them on a success', async () => {
    await failPins(4)
    await f.acme.start(login)
    expect(await f.acme.check({ ...login, pin: f.notifier.last().pin as string })).toMatchObject({
      result: 'authenticated',
    })
    expect(await f.acme.users.get('alice')).toBeTruthy()
    expect(f.rows('users')[0]).toMatchObject({ failureStreak: 0, retryAfter: null })
    await failPins(4)
    expect((await f.acme.start(login)).result).toBe('success')
  })

  it('locks the user at 100 consecutive failures until an administrator unlocks', async () => {
    let failures = 0
    while (failures < 100) {
      const started = await failPins(Math.min(5, 100 - failures))
      expect(started.result).toBe('success')
      failures += Math.min(5, 100 - failures)
      f.clock.advance(HOUR)
    }
    expect(f.rows('users')[0]).toMatchObject({ status: 'locked', failureStreak: 100 })
    expect(await f.acme.start(login)).toEqual({ result: 'security error', reason: 'locked' })
    expect(await f.acme.check(login)).toEqual({ result: 'security error', reason: 'locked' })
    await expect(f.acme.users.update('alice', { status: 'active' })).rejects.toMatchObject({
      field: 'status',
    })
    expect(await f.acme.users.unlock('alice')).toEqual({ wasLocked: true })
    expect((await f.acme.start(login)).result).toBe('success')
    const types = (await f.acme.audit.list({ limit: 1000 })).events.map((e) => e.type)
    expect(types.filter((t) => t === 'user.locked')).toHaveLength(1)
    expect(types.filter((t) => t === 'user.unlocked')).toHaveLength(1)
  }, 30_000)
})

describe('send limits (S18)', () => {
  beforeEach(async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
  })

  it('allows 5 starts per user per hour by default, then answers rate limited until the window ends', async () => {
    const t0 = f.clock.now()
    for (let i = 0; i < 5; i++) expect((await f.acme.start(login)).result).toBe('success')
    expect(await f.acme.start(login)).toEqual({ result: 'rate limited', retryAfter: new Date(t0 + HOUR) })
    expect(f.notifier.messages).toHaveLength(5)
    f.clock.advance(HOUR)
    expect((await f.acme.start(login)).result).toBe('success')
    const refusal = (await f.acme.audit.list({ outcome: 'rate limited' })).events[0]
    expect(refusal).toMatchObject({ type: 'challenge.started', authid: 'alice', details: { limit: 'user' } })
  })

  it('limits one destination across users', async () => {
    await f.acme.settings.update({ sendLimits: { perDestinationPerHour: 3 } })
    await f.acme.users.create({ authid: 'alias', email: 'alice@example.com' })
    await f.acme.users.assign('alias', [{ system: 'payroll', method: 'passwordless' }])
    const results = []
    for (const authid of ['alice', 'alias', 'alice', 'alias'])
      results.push((await f.acme.start({ system: 'payroll', authid })).result)
    expect(results).toEqual(['success', 'success', 'success', 'rate limited'])
  })

  it('limits an API key per minute and an account per day', async () => {
    await f.acme.settings.update({
      sendLimits: { perApiKeyPerMinute: 2, perAccountPerDay: 3, perUserPerHour: 100 },
    })
    const keyed = () => f.acme.start(login, { apiKeyId: 'key-1' })
    expect([(await keyed()).result, (await keyed()).result, (await keyed()).result]).toEqual([
      'success',
      'success',
      'rate limited',
    ])
    expect((await f.acme.start(login)).result).toBe('success')
    expect(await f.acme.start(login)).toMatchObject({ result: 'rate limited' })
    f.clock.advance(MINUTE)
    expect(await keyed()).toMatchObject({ result: 'rate limited' })
    expect(
      (await f.acme.audit.list({ outcome: 'rate limited' })).events.map((e) => e.details?.limit),
    ).toEqual(['key', 'account', 'account'])
  })
})

describe('uniformResponses (S20)', () => {
  beforeEach(async () => {
    await f.acme.settings.update({
      uniformResponses: true,
      sendLimits: { perUserPerHour: 10_000, perDestinationPerHour: 10_000 },
    })
    await f.acme.users.create({ authid: 'bob', email: 'bob@example.com' })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
  })

  it('answers a real start and each masked refusal in one shape, with a decoy id, sending only the real one', async () => {
    const answers = [
      await f.acme.start(login),
      await f.acme.start({ system: 'payroll', authid: 'nobody' }),
      await f.acme.start({ system: 'nope', authid: 'alice' }),
      await f.acme.start({ system: 'payroll', authid: 'bob' }),
    ]
    const shape = (answer: object) =>
      Object.entries(answer)
        .map(([key, value]) => `${key}:${value instanceof Date ? 'Date' : typeof value}`)
        .sort()
        .join()
    expect(new Set(answers.map(shape)).size).toBe(1)
    for (const answer of answers)
      expect(answer).toMatchObject({ result: 'success', challengeId: expect.stringMatching(/^[\w-]{24}$/) })
    expect(new Set(answers.map((a) => (a.result === 'success' ? a.challengeId : '')))).toHaveProperty(
      'size',
      4,
    )
    await new Promise((resolve) => setImmediate(resolve))
    expect(f.notifier.messages.map((m) => m.to)).toEqual(['alice@example.com'])
    const refusals = (await f.acme.audit.list({ outcome: 'security error' })).events
    expect(refusals.map((e) => [e.reason, e.details])).toEqual(
      ['unknown_user', 'unknown_system', 'not_assigned'].map((reason, i) => [
        reason,
        { answered: 'success', decoy: (answers[i + 1] as { challengeId: string }).challengeId },
      ]),
    )
  })
})

describe('users.remove', () => {
  it('deletes the user’s contact points, assignments and challenges; the audit keeps its events and the removal', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await f.acme.start(login)
    await f.acme.users.remove('alice')
    expect(f.rows('users')).toEqual([])
    expect(f.rows('assignments')).toEqual([])
    expect(f.rows('challenges')).toEqual([])
    expect(await f.acme.start(login)).toEqual({ result: 'security error', reason: 'unknown_user' })
    const types = (await f.acme.audit.list()).events.map((e) => e.type)
    expect(types).toEqual(expect.arrayContaining(['challenge.started', 'delivery', 'user.removed']))
    expect(await f.acme.audit.verify()).toMatchObject({ ok: true })
    await expect(f.acme.users.remove('alice')).rejects.toMatchObject({ name: 'NotFoundError' })
  })
})
