// Adaptive policy end to end, in process: rules on systems, decisions in the audit, layered challenges,
// number matching, memorized PINs, simulation, and switching policy while a login is pending.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Rule } from '../policy/rules.js'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'

const OFFICE = '203.0.113.0/24'
const inside = { ip: '203.0.113.20', userAgent: 'Firefox' }
const outside = { ip: '198.51.100.7', userAgent: 'Firefox' }
const ALICE_PIN = '582914'
// The office's rules: outside it, a high system asks for the PIN the user knows; nights are refused.
const RULES: Rule[] = [
  {
    name: 'outside-office-high',
    when: { ipNotIn: [OFFICE], sensitivityAtLeast: 'high' },
    effect: { requireMemorizedPin: true, maxLifetimeSeconds: 300 },
  },
  { name: 'contractors-never', when: { userAttributes: { contractor: true } }, effect: { deny: true } },
]

let f: EngineFixture
beforeEach(async () => {
  f = await engineFixture()
  await f.acme.systems.update('payroll', { sensitivity: 'high', rules: RULES })
  await f.acme.systems.create({
    name: 'wiki',
    sensitivity: 'low',
    rules: RULES,
    policies: { passwordless: { enabled: true } },
  })
  await f.acme.users.assign('alice', [
    { system: 'payroll', method: 'passwordless', channel: 'email' },
    { system: 'wiki', method: 'passwordless', channel: 'email' },
  ])
  await f.acme.users.setPin('alice', ALICE_PIN)
})
afterEach(async () => {
  await f.close()
})

describe('adaptive requirements', () => {
  it('asks for passwordless plus the memorized PIN from outside the office on a high system', async () => {
    const started = await f.acme.start({ system: 'payroll', authid: 'alice', context: outside })
    expect(started).toMatchObject({ result: 'success', layers: ['passwordless', 'memorized_pin'] })
    const login = { system: 'payroll', authid: 'alice' }
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending', next: 'passwordless' })
    await f.engine.links.confirm(f.notifier.last().token as string)
    // The link alone is not enough: the memorized PIN is next.
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending', next: 'memorized_pin' })
    expect(await f.acme.check({ ...login, pin: '999999' })).toEqual({
      result: 'security error',
      reason: 'wrong_pin',
    })
    expect(await f.acme.check({ ...login, pin: ALICE_PIN })).toMatchObject({ result: 'authenticated' })
    expect(await f.acme.check({ ...login, pin: ALICE_PIN })).toEqual({
      result: 'security error',
      reason: 'no_pending_challenge',
    })
    // The decision is in the audit, with the rule and why it matched, and no secret.
    const [event] = (await f.acme.audit.list({ type: 'challenge.started', outcome: 'success' })).events
    expect(event?.details?.decision).toEqual({
      rulesVersion: 1,
      layers: ['passwordless', 'memorized_pin'],
      lifetimeSeconds: 300,
      attempts: 5,
      sensitivity: 'high',
      matched: ['outside-office-high: ip 198.51.100.7 not in 203.0.113.0/24; sensitivity high ≥ high'],
    })
    expect(JSON.stringify(event)).not.toContain(ALICE_PIN)
  })

  it('gives the same user a link alone inside the office on a low system', async () => {
    const started = await f.acme.start({ system: 'wiki', authid: 'alice', context: inside })
    expect(started).toMatchObject({ result: 'success', layers: ['passwordless'] })
    expect(started).not.toHaveProperty('matchCode')
    await f.engine.links.confirm(f.notifier.last().token as string)
    expect(await f.acme.check({ system: 'wiki', authid: 'alice' })).toMatchObject({ result: 'authenticated' })
  })

  it('refuses a denied request with policy_denied and an audited explanation, sending nothing', async () => {
    await f.acme.users.update('alice', { attributes: { contractor: true } })
    expect(await f.acme.start({ system: 'wiki', authid: 'alice', context: inside })).toEqual({
      result: 'security error',
      reason: 'policy_denied',
    })
    expect(f.notifier.messages).toHaveLength(0)
    expect(f.rows('challenges')).toHaveLength(0)
    const [event] = (await f.acme.audit.list({ type: 'challenge.started' })).events
    expect(event).toMatchObject({
      outcome: 'security error',
      reason: 'policy_denied',
      details: {
        decision: {
          denied: true,
          reason: "denied by rule 'contractors-never'",
          matched: ['contractors-never: user contractor = true'],
        },
      },
    })
  })

  it('layers a one-time PIN and the memorized PIN: the OTP first, then the PIN the user knows', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    const started = await f.acme.start({ system: 'payroll', authid: 'alice', context: outside })
    expect(started).toMatchObject({ layers: ['pin', 'memorized_pin'] })
    const login = { system: 'payroll', authid: 'alice' }
    const otp = f.notifier.last().pin as string
    expect(await f.acme.check({ ...login, pin: otp })).toMatchObject({
      result: 'pending',
      next: 'memorized_pin',
    })
    // The one-time PIN does not pass the second layer.
    expect(await f.acme.check({ ...login, pin: otp })).toEqual({
      result: 'security error',
      reason: 'wrong_pin',
    })
    expect(await f.acme.check({ ...login, pin: ALICE_PIN })).toMatchObject({ result: 'authenticated' })
  })

  it('gives each layer the whole attempt budget, and counts the end of the login, not of a layer, as its completion', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    await f.acme.start({ system: 'payroll', authid: 'alice', context: outside })
    const login = { system: 'payroll', authid: 'alice' }
    const otp = f.notifier.last().pin as string
    const wrongOtp = otp.replace(/^\d/, (d) => String((Number(d) + 1) % 10))
    for (let i = 0; i < 4; i++) await f.acme.check({ ...login, pin: wrongOtp })
    expect(await f.acme.check({ ...login, pin: otp })).toMatchObject({ next: 'memorized_pin' })
    expect(f.rows('challenges')[0]).toMatchObject({ status: 'confirmed', attempts: 0, completedAt: null })
    for (let i = 0; i < 4; i++)
      expect(await f.acme.check({ ...login, pin: '999999' })).toMatchObject({ reason: 'wrong_pin' })
    f.clock.advance(1000)
    expect(await f.acme.check({ ...login, pin: ALICE_PIN })).toMatchObject({ result: 'authenticated' })
    expect(f.rows('challenges')[0]).toMatchObject({ status: 'authenticated', completedAt: f.clock.now() })
  })

  it('answers a double submission of the one-time PIN twice with "memorized PIN next", counting no failure', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    await f.acme.start({ system: 'payroll', authid: 'alice', context: outside })
    const login = { system: 'payroll', authid: 'alice', pin: f.notifier.last().pin as string }
    const answers = await Promise.all([f.acme.check(login), f.acme.check(login), f.acme.check(login)])
    for (const answer of answers) expect(answer).toMatchObject({ result: 'pending', next: 'memorized_pin' })
    expect(f.rows('users')[0]).toMatchObject({ failureStreak: 0 })
  })

  it('refuses a memorized PIN sent as a JSON number, which would lose its leading zeros', async () => {
    await f.acme.start({ system: 'payroll', authid: 'alice', context: outside })
    await f.engine.links.confirm(f.notifier.last().token as string)
    await expect(f.acme.check({ system: 'payroll', authid: 'alice', pin: 582914 })).rejects.toMatchObject({
      field: 'pin',
    })
  })

  it('keeps a pending challenge on the policy it was issued under when an administrator changes it', async () => {
    await f.acme.start({ system: 'payroll', authid: 'alice', context: outside })
    const token = f.notifier.last().token as string
    await f.acme.systems.update('payroll', { rules: [] })
    await f.engine.links.confirm(token)
    const login = { system: 'payroll', authid: 'alice' }
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending', next: 'memorized_pin' })
    // The next start takes the new setting at once.
    f.clock.advance(1000)
    expect(await f.acme.start({ ...login, context: outside })).toMatchObject({ layers: ['passwordless'] })
    const system = await f.acme.systems.get('payroll')
    expect(system).toMatchObject({ rules: [], rulesVersion: 2, rulesUpdatedBy: 'admin' })
  })
})

describe('the user’s history', () => {
  it('treats a device as new until a login from it is authenticated, and reads history only when a rule could use it', async () => {
    await f.acme.systems.update('wiki', {
      rules: [
        {
          name: 'new-device',
          when: { newDevice: true, resource: ['files'] },
          effect: { numberMatching: true },
        },
      ],
    })
    const phone = { ...inside, deviceId: 'phone-1', resource: 'files' }
    let reads = 0
    const original = f.storage.logins.userHistory.bind(f.storage)
    f.storage.logins.userHistory = async (...args) => {
      reads++
      return original(...args)
    }
    // Another resource: the rule cannot match, so no history is read.
    expect(
      await f.acme.simulate({ system: 'wiki', authid: 'alice', context: { ...phone, resource: 'news' } }),
    ).toMatchObject({
      decision: { matched: [] },
    })
    expect(reads).toBe(0)
    const first = await f.acme.start({ system: 'wiki', authid: 'alice', context: phone })
    expect(first).toHaveProperty('matchCode')
    expect(reads).toBe(1)
    const code = first.result === 'success' && 'matchCode' in first ? (first.matchCode as string) : ''
    await f.engine.links.confirm(f.notifier.last().token as string, { matchCode: code })
    expect(await f.acme.check({ system: 'wiki', authid: 'alice' })).toMatchObject({ result: 'authenticated' })
    f.clock.advance(60_000)
    expect(await f.acme.start({ system: 'wiki', authid: 'alice', context: phone })).not.toHaveProperty(
      'matchCode',
    )
    expect(
      await f.acme.start({ system: 'wiki', authid: 'alice', context: { ...phone, deviceId: 'laptop' } }),
    ).toHaveProperty('matchCode')
  })
})

describe('number matching (S12)', () => {
  beforeEach(async () => {
    await f.acme.systems.update('wiki', { rules: [{ name: 'match', effect: { numberMatching: true } }] })
  })

  it('confirms only with the code start returned, and burns the link after too many wrong codes', async () => {
    const started = await f.acme.start({ system: 'wiki', authid: 'alice' })
    const code = started.result === 'success' && 'matchCode' in started ? started.matchCode : undefined
    expect(code).toMatch(/^\d{3}$/)
    const token = f.notifier.last().token as string
    expect(await f.engine.links.inspect(token)).toMatchObject({ status: 'pending', numberMatching: true })
    const wrong = String((Number(code) + 1) % 1000).padStart(3, '0')
    const browser = { ip: '198.51.100.23', userAgent: 'Phone/2.0' }
    expect(await f.engine.links.confirm(token, { matchCode: wrong, ...browser })).toEqual({
      result: 'wrong_code',
      final: false,
    })
    // S25: a wrong guess is audited with the address and browser that made it.
    const { events } = await f.acme.audit.list({ type: 'link.confirmed' })
    expect(events.at(-1)).toMatchObject({ outcome: 'security error', reason: 'wrong_code', ...browser })
    expect(await f.engine.links.confirm(token)).toEqual({ result: 'wrong_code', final: false })
    expect(await f.engine.links.confirm(token, { matchCode: code as string })).toMatchObject({
      result: 'confirmed',
    })
    expect(await f.acme.check({ system: 'wiki', authid: 'alice' })).toMatchObject({ result: 'authenticated' })

    f.clock.advance(60_000)
    const again = await f.acme.start({ system: 'wiki', authid: 'alice' })
    const second = f.notifier.last().token as string
    const other = again.result === 'success' && 'matchCode' in again ? again.matchCode : '000'
    const bad = String((Number(other) + 7) % 1000).padStart(3, '0')
    const answers = []
    for (let i = 0; i < 5; i++) answers.push(await f.engine.links.confirm(second, { matchCode: bad }))
    expect(answers.at(-1)).toEqual({ result: 'wrong_code', final: true })
    expect(await f.engine.links.confirm(second, { matchCode: other as string })).toEqual({ result: 'closed' })
    // The poller hears why, once; each wrong code since the last success counted as a failure (S17).
    expect(await f.acme.check({ system: 'wiki', authid: 'alice' })).toEqual({
      result: 'security error',
      reason: 'attempts_exhausted',
    })
    expect(await f.acme.check({ system: 'wiki', authid: 'alice' })).toEqual({
      result: 'security error',
      reason: 'no_pending_challenge',
    })
    expect(f.rows('users')[0]).toMatchObject({ failureStreak: 5 })
  })

  it('compares at most the attempt budget of codes, however many guesses arrive at once', async () => {
    await f.acme.start({ system: 'wiki', authid: 'alice' })
    const token = f.notifier.last().token as string
    const every = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'))
    const results = await Promise.all(every.map((matchCode) => f.engine.links.confirm(token, { matchCode })))
    const compared = results.filter(
      (r) => r.result === 'confirmed' || (r.result === 'wrong_code' && !r.final),
    )
    // Five attempts: the fifth wrong code burns the link; a right code among the first five confirms it.
    expect(compared.length).toBeLessThanOrEqual(5)
    expect(results.filter((r) => r.result === 'confirmed').length).toBeLessThanOrEqual(1)
  })
})

describe('memorized PINs (S10)', () => {
  it('refuses weak PINs from an administrator, naming why', async () => {
    for (const weak of [
      '123456',
      '111111',
      '121212',
      '123123',
      '250690',
      '19900625',
      '147258',
      '12345',
      'abcdef',
    ])
      await expect(f.acme.users.setPin('alice', weak), weak).rejects.toMatchObject({ field: 'pin' })
    expect((await f.acme.users.get('alice'))?.hasMemorizedPin).toBe(true)
    await f.acme.users.setPin('alice', null)
    expect((await f.acme.users.get('alice'))?.hasMemorizedPin).toBe(false)
    const types = (await f.acme.audit.list()).events.map((e) => e.type)
    expect(types).toContain('user.pin.set')
    expect(types).toContain('user.pin.cleared')
  })

  it('lets the user set one within 5 minutes of a login, and change it only after a login that asked for it', async () => {
    await f.acme.users.setPin('alice', null)
    await f.acme.start({ system: 'wiki', authid: 'alice', context: inside })
    await f.engine.links.confirm(f.notifier.last().token as string)
    const done = await f.acme.check({ system: 'wiki', authid: 'alice' })
    const challengeId = done.result === 'authenticated' ? done.challengeId : ''
    const set = (pin: string, id = challengeId) =>
      f.acme.users.setPinAfterLogin({ system: 'wiki', authid: 'alice', challengeId: id, pin })
    await expect(set('582914', 'not-a-challenge')).rejects.toMatchObject({ field: 'challengeId' })
    await set('582914')
    expect((await f.acme.users.get('alice'))?.hasMemorizedPin).toBe(true)
    // A link alone does not let the holder of the inbox replace an existing PIN.
    await expect(set('604817')).rejects.toMatchObject({ field: 'challengeId' })

    // After a login that asked for the PIN, within 5 minutes: yes. After 5 minutes: no.
    await f.acme.start({ system: 'payroll', authid: 'alice', context: outside })
    await f.engine.links.confirm(f.notifier.last().token as string)
    const layered = await f.acme.check({ system: 'payroll', authid: 'alice', pin: '582914' })
    const layeredId = layered.result === 'authenticated' ? layered.challengeId : ''
    const change = (pin: string) =>
      f.acme.users.setPinAfterLogin({ system: 'payroll', authid: 'alice', challengeId: layeredId, pin })
    await change('604817')
    f.clock.advance(5 * 60_000 + 1)
    await expect(change('730592')).rejects.toMatchObject({ field: 'challengeId' })
  })
})

describe('simulate', () => {
  it('returns the decision a start would take and changes nothing', async () => {
    const before = { audit: f.rows('auditEvents').length, challenges: f.rows('challenges').length }
    expect(await f.acme.simulate({ system: 'payroll', authid: 'alice', context: outside })).toMatchObject({
      result: 'decision',
      decision: {
        denied: false,
        layers: ['passwordless', 'memorized_pin'],
        matched: [{ rule: 'outside-office-high' }],
      },
    })
    expect(await f.acme.simulate({ system: 'payroll', authid: 'alice', context: inside })).toMatchObject({
      result: 'decision',
      decision: { layers: ['passwordless'], matched: [] },
    })
    expect(await f.acme.simulate({ system: 'payroll', authid: 'nobody' })).toEqual({
      result: 'security error',
      reason: 'unknown_user',
    })
    expect({ audit: f.rows('auditEvents').length, challenges: f.rows('challenges').length }).toEqual(before)
    expect(f.notifier.messages).toHaveLength(0)
  })
})
