import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'
import type { CheckInput } from './check.js'

// A pending poll answered from the storage's narrow read (LoginStore.pollLogin), anything else from the
// whole subject (resolveLogin): the same answers either way, S19's poll budget taken once a poll.

const login = { system: 'payroll', authid: 'alice' }

let f: EngineFixture
beforeEach(async () => {
  f = await engineFixture({ throttle: { polls: { burst: 4, perSecond: 0.000_001 } } })
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
})
afterEach(async () => {
  await f.close()
})

/** What `check` answers for `input` with the narrow read, and with a storage that has none. */
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

describe('a pending poll', () => {
  it('is answered from the narrow read alone, as the whole subject answers it', async () => {
    const started = await f.acme.start(login)
    const whole = vi.spyOn(f.storage.logins, 'resolveLogin')
    const narrow = vi.spyOn(f.storage.logins, 'pollLogin')
    const answer = await f.acme.check(login)
    expect(answer).toEqual({
      result: 'pending',
      challengeId: started.result === 'success' ? started.challengeId : '',
      method: 'passwordless',
      channel: 'email',
      delivery: 'sent',
      next: 'passwordless',
    })
    expect([narrow.mock.calls.length, whole.mock.calls.length]).toEqual([1, 0])
    whole.mockClear()
    const { narrow: viaView, whole: viaSubject } = await bothWays({
      ...login,
      challengeId: answer.result === 'pending' ? answer.challengeId : '',
    })
    expect(viaView).toEqual(answer)
    expect(viaSubject).toEqual(answer)
    expect(whole).toHaveBeenCalledTimes(1)
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

describe('anything but a plain pending poll', () => {
  it('reads the whole subject: a confirmed link, an expired challenge, another challenge named, a PIN', async () => {
    const whole = vi.spyOn(f.storage.logins, 'resolveLogin')
    await f.acme.start(login)
    expect(await f.engine.links.confirm(f.notifier.last().token as string)).toMatchObject({
      result: 'confirmed',
    })
    expect(await f.acme.check(login)).toMatchObject({ result: 'authenticated' })
    expect(whole).toHaveBeenCalledTimes(2) // start's, then check's
    await f.acme.start(login)
    f.clock.advance(60 * 60_000)
    expect(await f.acme.check(login)).toEqual({ result: 'expired' })
    await f.acme.start(login)
    expect(await f.acme.check({ ...login, challengeId: 'not-this-one' })).toEqual({
      result: 'security error',
      reason: 'no_pending_challenge',
    })
    expect(await f.acme.check({ ...login, pin: '123456' })).toEqual({
      result: 'security error',
      reason: 'wrong_method',
    })
    expect(whole).toHaveBeenCalledTimes(7)
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
