import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'
import type { CheckInput } from './check.js'

// A `check` without a PIN reads the login's narrow view (LoginStore.pollLogin) and nothing more, whatever it
// answers: the same answers as from the whole subject (a storage without pollLogin), S19's poll budget
// taken once a poll, and a decoy's poll (S20) reading what a real pending poll reads.

const login = { system: 'payroll', authid: 'alice' }

let f: EngineFixture
beforeEach(async () => {
  f = await engineFixture({ throttle: { polls: { burst: 4, perSecond: 0.000_001 } } })
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
})
afterEach(async () => {
  await f.close()
})

/** What `check` answers for `input` from the narrow view, and from a storage that has none. */
async function bothWays(input: CheckInput) {
  const narrow = await f.acme.check(input)
  const pollLogin = f.storage.logins.pollLogin
  f.storage.logins.pollLogin = undefined
  try {
    return { narrow, whole: await f.acme.check(input) }
  } finally {
    f.storage.logins.pollLogin = pollLogin
  }
}

/** Counts the storage's reads of a login from here on. */
function reads() {
  const spies = {
    view: vi.spyOn(f.storage.logins, 'pollLogin'),
    whole: vi.spyOn(f.storage.logins, 'resolveLogin'),
    challenge: vi.spyOn(f.storage.logins, 'getChallenge'),
  }
  return () => ({
    view: spies.view.mock.calls.length,
    whole: spies.whole.mock.calls.length,
    challenge: spies.challenge.mock.calls.length,
  })
}

describe('a pending poll', () => {
  it('is answered from the narrow view alone, as the whole subject answers it', async () => {
    const started = await f.acme.start(login)
    const counted = reads()
    const answer = await f.acme.check(login)
    expect(answer).toEqual({
      result: 'pending',
      challengeId: started.result === 'success' ? started.challengeId : '',
      method: 'passwordless',
      channel: 'email',
      delivery: 'sent',
      next: 'passwordless',
    })
    expect(counted()).toEqual({ view: 1, whole: 0, challenge: 0 })
    const named = { ...login, challengeId: answer.result === 'pending' ? answer.challengeId : '' }
    expect(await bothWays(named)).toEqual({ narrow: answer, whole: answer })
  })

  it('takes one unit of the login’s poll budget (S19), on either read', async () => {
    await f.acme.start(login)
    const answers = []
    for (let i = 0; i < 3; i++) {
      const { narrow, whole } = await bothWays(login)
      answers.push(narrow.result, whole.result)
    }
    expect(answers).toEqual([...Array(4).fill('pending'), 'rate limited', 'rate limited'])
  })
})

describe('a decoy’s poll (S20)', () => {
  it('reads what a real pending poll reads, and answers like one', async () => {
    await f.acme.settings.update({ uniformResponses: true })
    await f.acme.users.create({ authid: 'dora', email: 'dora@example.com' })
    await f.acme.users.assign('dora', [{ system: 'payroll', method: 'passwordless' }])
    await f.acme.users.update('dora', { status: 'disabled' })
    const real = await f.acme.start(login)
    const decoy = await f.acme.start({ system: 'payroll', authid: 'dora' })
    if (real.result !== 'success' || decoy.result !== 'success') throw new Error('both starts answer success')
    const counted = reads()
    const realAnswer = await f.acme.check({ ...login, challengeId: real.challengeId })
    const afterReal = counted()
    const decoyAnswer = await f.acme.check({
      system: 'payroll',
      authid: 'dora',
      challengeId: decoy.challengeId,
    })
    const afterDecoy = counted()
    expect(afterReal).toEqual({ view: 1, whole: 0, challenge: 0 })
    expect(afterDecoy).toEqual({ view: 2, whole: 0, challenge: 0 })
    // With a PIN, each reads the whole subject once.
    await f.acme.check({ ...login, challengeId: real.challengeId, pin: '123456' })
    expect(counted()).toEqual({ view: 2, whole: 1, challenge: 0 })
    await f.acme.check({ system: 'payroll', authid: 'dora', challengeId: decoy.challengeId, pin: '123456' })
    expect(counted()).toEqual({ view: 2, whole: 2, challenge: 0 })
    const { challengeId: _real, ...realBody } = realAnswer as { challengeId: string }
    const { challengeId: _decoy, ...decoyBody } = decoyAnswer as { challengeId: string }
    expect(decoyBody).toEqual(realBody)
  })
})

describe('a user whose last login ended (S20)', () => {
  it('reads what an unknown user reads, and answers like one', async () => {
    await f.acme.settings.update({ uniformResponses: true })
    await f.acme.start(login)
    await f.engine.links.confirm(f.notifier.last().token as string)
    expect(await f.acme.check(login)).toMatchObject({ result: 'authenticated' })
    const counted = reads()
    const ended = await f.acme.check(login)
    const afterEnded = counted()
    const unknown = await f.acme.check({ system: 'payroll', authid: 'nobody' })
    expect(afterEnded).toEqual({ view: 1, whole: 0, challenge: 0 })
    expect(counted()).toEqual({ view: 2, whole: 0, challenge: 0 })
    expect(ended).toEqual({ result: 'security error', reason: 'no_pending_challenge' })
    expect(unknown).toEqual(ended)
  })
})

describe('a check that moves the challenge', () => {
  it('reads the view alone without a PIN (a confirmed link, an expired challenge), the whole subject with one', async () => {
    await f.acme.start(login)
    expect(await f.engine.links.confirm(f.notifier.last().token as string)).toMatchObject({
      result: 'confirmed',
    })
    let counted = reads()
    expect(await f.acme.check(login)).toMatchObject({ result: 'authenticated' })
    expect(counted()).toEqual({ view: 1, whole: 0, challenge: 0 })
    vi.restoreAllMocks()
    await f.acme.start(login)
    f.clock.advance(60 * 60_000)
    counted = reads()
    expect(await f.acme.check(login)).toEqual({ result: 'expired' })
    expect(await f.acme.check({ ...login, pin: '123456' })).toEqual({
      result: 'security error',
      reason: 'no_pending_challenge',
    })
    expect(counted()).toEqual({ view: 1, whole: 1, challenge: 0 })
  })

  // Reads only: the real one still writes its move to `expired` and its audit, a decoy nothing
  // (docs/security.md, S20).
  it('reads an expired real challenge as a decoy’s expired one is read (S20)', async () => {
    await f.acme.settings.update({ uniformResponses: true })
    const real = await f.acme.start(login)
    const decoy = await f.acme.start({ system: 'payroll', authid: 'nobody' })
    if (real.result !== 'success' || decoy.result !== 'success') throw new Error('both starts answer success')
    f.clock.advance(60 * 60_000)
    const counted = reads()
    const realAnswer = await f.acme.check({ ...login, challengeId: real.challengeId })
    const afterReal = counted()
    const decoyAnswer = await f.acme.check({
      system: 'payroll',
      authid: 'nobody',
      challengeId: decoy.challengeId,
    })
    expect(afterReal).toEqual({ view: 1, whole: 0, challenge: 0 })
    expect(counted()).toEqual({ view: 2, whole: 0, challenge: 0 })
    expect([realAnswer, decoyAnswer]).toEqual([{ result: 'expired' }, { result: 'expired' }])
  })

  it('answers a confirmed link with a memorized PIN still to come from the view as the whole subject does', async () => {
    await f.acme.systems.update('payroll', {
      rules: [{ name: 'always', when: {}, effect: { requireMemorizedPin: true } }],
    })
    await f.acme.users.setPin('alice', '582914')
    await f.acme.start(login)
    await f.engine.links.confirm(f.notifier.last().token as string)
    const counted = reads()
    const { narrow, whole } = await bothWays(login)
    expect(narrow).toMatchObject({ result: 'pending', next: 'memorized_pin' })
    expect(whole).toEqual(narrow)
    expect(counted()).toEqual({ view: 1, whole: 1, challenge: 0 })
  })

  it('answers as the whole subject does: another challenge named, a wrong method', async () => {
    await f.acme.start(login)
    expect(await bothWays({ ...login, challengeId: 'not-this-one' })).toEqual({
      narrow: { result: 'security error', reason: 'no_pending_challenge' },
      whole: { result: 'security error', reason: 'no_pending_challenge' },
    })
    expect(await bothWays({ ...login, pin: '123456' })).toEqual({
      narrow: { result: 'security error', reason: 'wrong_method' },
      whole: { result: 'security error', reason: 'wrong_method' },
    })
  })

  it('answers a user disabled while the login waits as the whole subject does', async () => {
    await f.acme.start(login)
    await f.acme.users.update('alice', { status: 'disabled' })
    expect(await bothWays(login)).toEqual({
      narrow: { result: 'security error', reason: 'user_disabled' },
      whole: { result: 'security error', reason: 'user_disabled' },
    })
  })
})
