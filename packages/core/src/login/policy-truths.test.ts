import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DeliveryError } from '../domain/errors.js'
import type { Message, Notifier } from '../ports/notifier.js'
import { captureNotifier } from '../testing/capture-notifier.js'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'

// What simulate says is what start does; no code is handed out that nothing checks;
// turning a method off stops the logins that wait on it.

const login = { system: 'payroll', authid: 'alice' }

let f: EngineFixture
afterEach(async () => {
  await f.close()
})

describe('simulate runs the same resolution as start', () => {
  beforeEach(async () => {
    f = await engineFixture()
  })

  it('reports the channel start really uses when a rule asks for SMS and the user has no phone', async () => {
    await f.acme.users.update('alice', { phone: null })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    await f.acme.systems.update('payroll', { rules: [{ name: 'by-sms', effect: { channel: 'sms' } }] })
    const simulated = await f.acme.simulate(login)
    expect(simulated).toMatchObject({ result: 'decision', decision: { channel: 'email' } })
    expect(await f.acme.start(login)).toMatchObject({ result: 'success', channel: 'email' })
    expect(f.notifier.last()).toMatchObject({ channel: 'email', to: 'alice@example.com' })
  })

  it('answers method_not_enabled like start when no allowed channel reaches the user', async () => {
    await f.acme.systems.update('payroll', { policies: { pin: { channels: ['sms'] } } })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    // The phone goes after the assignment was made (assigning checks reachability, starting must too).
    await f.acme.users.update('alice', { phone: null })
    expect(await f.acme.simulate(login)).toEqual({ result: 'security error', reason: 'method_not_enabled' })
    expect(await f.acme.start(login)).toEqual({ result: 'security error', reason: 'method_not_enabled' })
  })

  it('answers rate limited until the same time as start during a delay after failures', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    await f.acme.start(login)
    const wrong = (f.notifier.last().pin as string).replace(/^\d/, (d) => String((Number(d) + 1) % 10))
    for (let i = 0; i < 5; i++) await f.acme.check({ ...login, pin: wrong })
    const until = new Date(f.clock.now() + 30_000)
    expect(await f.acme.simulate(login)).toEqual({ result: 'rate limited', retryAfter: until })
    expect(await f.acme.start(login)).toEqual({ result: 'rate limited', retryAfter: until })
  })
})

describe('number matching only where something checks the code', () => {
  beforeEach(async () => {
    f = await engineFixture()
    await f.acme.systems.update('payroll', { rules: [{ name: 'match', effect: { numberMatching: true } }] })
  })

  it('hands out no matchCode on a PIN login, and says so in simulate and the audit', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    const started = await f.acme.start(login)
    expect(started).toMatchObject({ result: 'success', method: 'pin' })
    expect(started).not.toHaveProperty('matchCode')
    expect(await f.acme.simulate(login)).toMatchObject({ decision: { numberMatching: false } })
    const [audited] = (await f.acme.audit.list({ type: 'challenge.started' })).events
    expect(audited?.details?.decision).not.toHaveProperty('numberMatching')
    // The PIN alone completes the login, as the answer promised.
    const pin = f.notifier.last().pin as string
    expect(await f.acme.check({ ...login, pin })).toMatchObject({ result: 'authenticated' })
  })

  it('still asks for the code on a link', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    expect(await f.acme.start(login)).toMatchObject({ matchCode: expect.stringMatching(/^\d{3}$/) })
    expect(await f.acme.simulate(login)).toMatchObject({ decision: { numberMatching: true } })
  })
})

describe('turning a method off stops the logins waiting on it', () => {
  beforeEach(async () => {
    f = await engineFixture()
  })

  it('refuses the right PIN of a pending challenge with method_not_enabled, for good', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    await f.acme.start(login)
    const pin = f.notifier.last().pin as string
    await f.acme.systems.update('payroll', { policies: { pin: { enabled: false } } })
    expect(await f.acme.check({ ...login, pin })).toEqual({
      result: 'security error',
      reason: 'method_not_enabled',
    })
    const [ended] = (await f.acme.audit.list({ type: 'challenge.checked' })).events
    expect(ended).toMatchObject({ outcome: 'security error', reason: 'method_not_enabled' })
    // Turning it back on does not revive the login: a new start is needed.
    await f.acme.systems.update('payroll', { policies: { pin: { enabled: true } } })
    expect(await f.acme.check({ ...login, pin })).toEqual({
      result: 'security error',
      reason: 'no_pending_challenge',
    })
  })

  it('confirms no waiting link, and check ends the login', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await f.acme.start(login)
    const token = f.notifier.last().token as string
    await f.acme.systems.update('payroll', { policies: { passwordless: { enabled: false } } })
    expect(await f.engine.links.inspect(token)).toMatchObject({ status: 'disabled' })
    expect(await f.engine.links.confirm(token)).toEqual({ result: 'disabled' })
    expect(f.rows('challenges')[0]).toMatchObject({ status: 'pending' })
    expect(await f.acme.check(login)).toEqual({ result: 'security error', reason: 'method_not_enabled' })
  })

  it('sends no retry of a waiting message once the method is off', async () => {
    await f.close()
    const inner = captureNotifier()
    const attempts: Message[] = []
    let failing = true
    const notifier: Notifier = {
      async send(message) {
        attempts.push(message)
        if (failing) throw new DeliveryError('temporary', '451 later')
        return inner.send(message)
      },
    }
    f = await engineFixture({ notifier })
    await f.acme.users.update('alice', { phone: null })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    expect(await f.acme.start(login)).toMatchObject({ delivery: 'failed' })
    await f.acme.systems.update('payroll', { policies: { pin: { enabled: false } } })
    failing = false
    for (let i = 0; i < 30; i++) {
      f.clock.advance(10_000)
      await f.engine.deliverDue()
    }
    expect(inner.messages).toHaveLength(0)
    expect(f.rows('deliveries')[0]).toMatchObject({ status: 'abandoned', payload: null })
  })
})
