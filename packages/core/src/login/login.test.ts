import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DeliveryError, StorageError } from '../domain/errors.js'
import { sha256Hex } from '../domain/secrets.js'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'

const MINUTE = 60_000
const login = { system: 'payroll', authid: 'alice' }

let f: EngineFixture
beforeEach(async () => {
  f = await engineFixture()
})
afterEach(async () => {
  await f.close()
})

const startWith = async (method: 'passwordless' | 'pin', channel: 'email' | 'sms' | null = null) => {
  await f.acme.users.assign('alice', [{ system: 'payroll', method, channel }])
  const started = await f.acme.start(login)
  if (started.result !== 'success' || started.challengeId === undefined)
    throw new Error(`start failed: ${JSON.stringify(started)}`)
  return { started, message: f.notifier.last() }
}
const wrongPin = (pin: string) => pin.replace(/^\d/, (d) => String((Number(d) + 1) % 10))

describe('start', () => {
  it('issues a passwordless challenge and sends a link with a 32-character token, stored only as its SHA-256', async () => {
    const { started, message } = await startWith('passwordless')
    expect(started).toMatchObject({
      result: 'success',
      method: 'passwordless',
      channel: 'email',
      delivery: 'sent',
    })
    expect(message.to).toBe('alice@example.com')
    expect(message.link).toBe(`https://auth.example.com/v1/links/${message.token}`)
    expect(message.token).toMatch(/^[A-Za-z0-9_-]{32}$/)
    const [row] = f.rows('challenges')
    expect(row).toMatchObject({
      status: 'pending',
      linkHash: sha256Hex(message.token as string),
      pinHash: null,
    })
    expect(JSON.stringify(f.rows('challenges'))).not.toContain(message.token)
  })

  it('sends an 8-digit PIN by the assigned channel and keeps only its keyed hash', async () => {
    const { message } = await startWith('pin', 'sms')
    expect(message).toMatchObject({ channel: 'sms', to: '+14155552671', kind: 'pin' })
    expect(message.pin).toMatch(/^\d{8}$/)
    const [row] = f.rows('challenges')
    expect(String(row?.pinHash)).toMatch(/^hmac-sha256\$[\w-]{22}\$[\w-]{43}$/)
    expect(JSON.stringify(f.rows('challenges'))).not.toContain(message.pin)
  })

  it('uses the policy’s PIN length, lifetime and attempt budget', async () => {
    await f.acme.systems.update('payroll', {
      policies: { pin: { pinLength: 6, lifetimeSeconds: 120, attempts: 3 } },
    })
    const { started, message } = await startWith('pin')
    expect(message.pin).toMatch(/^\d{6}$/)
    expect(started.expiresAt?.getTime()).toBe(f.clock.now() + 120_000)
    expect(f.rows('challenges')[0]).toMatchObject({ maxAttempts: 3, pinLength: 6 })
  })

  it('expires links after 10 minutes and PINs after 5 by default', async () => {
    const link = await startWith('passwordless')
    expect(link.started.expiresAt.getTime() - f.clock.now()).toBe(10 * MINUTE)
    const pin = await startWith('pin')
    expect(pin.started.expiresAt.getTime() - f.clock.now()).toBe(5 * MINUTE)
  })

  it('takes the policy’s first channel the user can receive when the assignment names none', async () => {
    await f.acme.systems.update('payroll', { policies: { pin: { channels: ['sms', 'email'] } } })
    expect((await startWith('pin')).message.channel).toBe('sms')
    await f.acme.users.update('alice', { phone: null })
    expect((await f.acme.start(login)).result).toBe('success')
    expect(f.notifier.last().channel).toBe('email')
  })

  it.each([
    ['unknown_system', { system: 'nope', authid: 'alice' }],
    ['unknown_user', { system: 'payroll', authid: 'nobody' }],
    ['not_assigned', login],
  ] as const)('answers security error %s and sends nothing', async (reason, input) => {
    expect(await f.acme.start(input)).toEqual({ result: 'security error', reason })
    expect(f.notifier.messages).toHaveLength(0)
    expect(f.rows('challenges')).toHaveLength(0)
  })

  it('answers user_disabled for a disabled user', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    await f.acme.users.update('alice', { status: 'disabled' })
    expect(await f.acme.start(login)).toEqual({ result: 'security error', reason: 'user_disabled' })
  })

  it('answers method_not_enabled when the system disabled the assigned method since', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    await f.acme.systems.update('payroll', { policies: { pin: { enabled: false } } })
    expect(await f.acme.start(login)).toEqual({ result: 'security error', reason: 'method_not_enabled' })
  })

  it('answers method_not_enabled when the user can no longer receive on any allowed channel', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'sms' }])
    await f.acme.users.update('alice', { phone: null })
    expect(await f.acme.start(login)).toEqual({ result: 'security error', reason: 'method_not_enabled' })
  })

  it('supersedes the pending challenge: the old link and the old PIN stop working', async () => {
    const first = await startWith('passwordless')
    await f.acme.start(login)
    expect(await f.engine.links.confirm(first.message.token as string)).toEqual({ result: 'superseded' })
    const firstPin = await startWith('pin')
    await f.acme.start(login)
    expect(await f.acme.check({ ...login, pin: firstPin.message.pin as string })).toEqual({
      result: 'security error',
      reason: 'wrong_pin',
    })
    expect(await f.acme.check({ ...login, pin: f.notifier.last().pin as string })).toMatchObject({
      result: 'authenticated',
    })
  })

  it('supersedes a confirmed challenge too: check then answers for the new one', async () => {
    const { message } = await startWith('passwordless')
    await f.engine.links.confirm(message.token as string)
    const second = await f.acme.start(login)
    expect(await f.acme.check(login)).toMatchObject({
      result: 'pending',
      challengeId: (second as { challengeId: string }).challengeId,
    })
  })

  it('reports a failed delivery, keeps the challenge, and audits the failure', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    await f.acme.users.update('alice', { phone: null })
    f.notifier.failNext(new DeliveryError('permanent', '550 mailbox unavailable'))
    expect(await f.acme.start(login)).toMatchObject({ result: 'success', delivery: 'failed' })
    const delivery = (await f.acme.audit.list()).events.filter((e) => e.type === 'delivery')
    expect(delivery.map((e) => e.outcome)).toEqual(['queued', 'abandoned'])
    expect(delivery[1]).toMatchObject({ details: { kind: 'permanent', destination: 'a***@example.com' } })
    expect(f.warnings).toContain('delivery failed')
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending', delivery: 'failed' })
  })

  it('leaves no challenge behind when storage fails, and throws StorageError', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    // The account's audit trail is gone: the last write of the start's transaction fails.
    f.tamper('auditHeads', () => null)
    await expect(f.acme.start(login)).rejects.toBeInstanceOf(StorageError)
    expect(f.rows('challenges')).toHaveLength(0)
    expect(f.rows('assignments')[0]).toMatchObject({ challengeId: null })
    expect(f.notifier.messages).toHaveLength(0)
  })

  it('refuses malformed input with a ValidationError naming the field', async () => {
    await expect(f.acme.start({ system: '', authid: 'alice' })).rejects.toMatchObject({ field: 'system' })
    await expect(f.acme.start({ system: 'payroll', authid: 'a'.repeat(257) })).rejects.toMatchObject({
      field: 'authid',
    })
    await expect(f.acme.start({ ...login, context: { nested: {} as never } })).rejects.toMatchObject({
      field: 'context.nested',
    })
    const wide = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i]))
    await expect(f.acme.start({ ...login, context: wide })).rejects.toMatchObject({ field: 'context' })
  })
})

describe('check', () => {
  it('answers pending, then authenticated once after the link is confirmed, then no_pending_challenge', async () => {
    const { started, message } = await startWith('passwordless')
    expect(await f.acme.check(login)).toEqual({
      result: 'pending',
      challengeId: started.challengeId,
      method: 'passwordless',
      channel: 'email',
      delivery: 'sent',
      next: 'passwordless',
    })
    expect(await f.engine.links.confirm(message.token as string)).toMatchObject({
      result: 'confirmed',
      system: 'payroll',
    })
    expect(await f.acme.check(login)).toEqual({ result: 'authenticated', challengeId: started.challengeId })
    expect(await f.acme.check(login)).toEqual({ result: 'security error', reason: 'no_pending_challenge' })
  })

  it('authenticates the correct PIN once', async () => {
    const { started, message } = await startWith('pin')
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending', method: 'pin' })
    expect(await f.acme.check({ ...login, pin: message.pin as string })).toEqual({
      result: 'authenticated',
      challengeId: started.challengeId,
    })
    expect(await f.acme.check({ ...login, pin: message.pin as string })).toEqual({
      result: 'security error',
      reason: 'no_pending_challenge',
    })
  })

  it('answers wrong_pin while attempts remain, and the right PIN still works after', async () => {
    const { message } = await startWith('pin')
    for (let i = 0; i < 4; i++)
      expect(await f.acme.check({ ...login, pin: wrongPin(message.pin as string) })).toEqual({
        result: 'security error',
        reason: 'wrong_pin',
      })
    expect(f.rows('challenges')[0]).toMatchObject({ status: 'pending', attempts: 4 })
    expect(await f.acme.check({ ...login, pin: message.pin as string })).toMatchObject({
      result: 'authenticated',
    })
  })

  it('burns the challenge after 5 wrong PINs: attempts_exhausted, then the right PIN is refused', async () => {
    const { message } = await startWith('pin')
    const answers = []
    for (let i = 0; i < 5; i++)
      answers.push(await f.acme.check({ ...login, pin: wrongPin(message.pin as string) }))
    expect(answers.map((a) => (a as { reason: string }).reason)).toEqual([
      'wrong_pin',
      'wrong_pin',
      'wrong_pin',
      'wrong_pin',
      'attempts_exhausted',
    ])
    expect(f.rows('challenges')[0]).toMatchObject({ status: 'failed', attempts: 5 })
    expect(await f.acme.check({ ...login, pin: message.pin as string })).toEqual({
      result: 'security error',
      reason: 'no_pending_challenge',
    })
  })

  it('counts a PIN of the wrong length or with letters as a wrong PIN', async () => {
    const { message } = await startWith('pin')
    expect(await f.acme.check({ ...login, pin: `${message.pin}0` })).toMatchObject({ reason: 'wrong_pin' })
    expect(await f.acme.check({ ...login, pin: 'abcdefgh' })).toMatchObject({ reason: 'wrong_pin' })
    expect(f.rows('challenges')[0]).toMatchObject({ attempts: 2 })
  })

  it('answers wrong_method for a PIN sent to a passwordless challenge, which stays pending', async () => {
    await startWith('passwordless')
    expect(await f.acme.check({ ...login, pin: '12345678' })).toEqual({
      result: 'security error',
      reason: 'wrong_method',
    })
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending' })
  })

  it('answers no_pending_challenge before any start', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    expect(await f.acme.check(login)).toEqual({ result: 'security error', reason: 'no_pending_challenge' })
  })

  it.each([
    ['unknown_system', { system: 'nope', authid: 'alice' }],
    ['unknown_user', { system: 'payroll', authid: 'nobody' }],
    ['not_assigned', login],
  ] as const)('answers security error %s', async (reason, input) => {
    expect(await f.acme.check(input)).toEqual({ result: 'security error', reason })
  })

  it('answers user_disabled for a user disabled while a challenge is pending', async () => {
    const { message } = await startWith('pin')
    await f.acme.users.update('alice', { status: 'disabled' })
    expect(await f.acme.check({ ...login, pin: message.pin as string })).toEqual({
      result: 'security error',
      reason: 'user_disabled',
    })
  })
})

describe('expiry', () => {
  it('expires a pending link lazily at check: expired once, then no_pending_challenge', async () => {
    await startWith('passwordless')
    f.clock.advance(10 * MINUTE)
    expect(await f.acme.check(login)).toEqual({ result: 'expired' })
    expect(f.rows('challenges')[0]).toMatchObject({ status: 'expired' })
    expect(await f.acme.check(login)).toEqual({ result: 'security error', reason: 'no_pending_challenge' })
  })

  it('keeps a challenge alive until the last millisecond of its lifetime', async () => {
    const { message } = await startWith('pin')
    f.clock.advance(5 * MINUTE - 1)
    expect(await f.acme.check({ ...login, pin: message.pin as string })).toMatchObject({
      result: 'authenticated',
    })
  })

  it('refuses an expired PIN with expired, even the right one', async () => {
    const { message } = await startWith('pin')
    f.clock.advance(5 * MINUTE)
    expect(await f.acme.check({ ...login, pin: message.pin as string })).toEqual({ result: 'expired' })
  })

  it('expires a confirmed link that nobody checked in time', async () => {
    const { message } = await startWith('passwordless')
    await f.engine.links.confirm(message.token as string)
    f.clock.advance(10 * MINUTE)
    expect(await f.acme.check(login)).toEqual({ result: 'expired' })
  })

  it('refuses to confirm an expired link and changes nothing', async () => {
    const { message } = await startWith('passwordless')
    f.clock.advance(10 * MINUTE)
    expect(await f.engine.links.confirm(message.token as string)).toEqual({ result: 'expired' })
    expect(f.rows('challenges')[0]).toMatchObject({ status: 'pending' })
  })

  it('sweeps due challenges in runDue; the next check still answers expired once', async () => {
    await startWith('passwordless')
    expect(await f.engine.runDue()).toMatchObject({ expired: 0 })
    f.clock.advance(10 * MINUTE)
    expect(await f.engine.runDue()).toMatchObject({ expired: 1 })
    expect(f.rows('challenges')[0]).toMatchObject({ status: 'expired' })
    expect(await f.acme.check(login)).toEqual({ result: 'expired' })
    expect(await f.acme.check(login)).toEqual({ result: 'security error', reason: 'no_pending_challenge' })
  })
})

describe('links', () => {
  it('inspect shows the system, when and from where, and changes nothing', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await f.acme.start({ ...login, context: { ip: '203.0.113.7', userAgent: 'Firefox' } })
    const token = f.notifier.last().token as string
    const before = f.rows('challenges')
    expect(await f.engine.links.inspect(token)).toMatchObject({
      status: 'pending',
      system: 'payroll',
      ip: '203.0.113.7',
      userAgent: 'Firefox',
      startedAt: new Date(f.clock.now()),
    })
    expect(f.rows('challenges')).toEqual(before)
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending' })
  })

  it('confirm consumes a link once', async () => {
    const { message } = await startWith('passwordless')
    expect(await f.engine.links.confirm(message.token as string)).toMatchObject({ result: 'confirmed' })
    expect(await f.engine.links.confirm(message.token as string)).toEqual({ result: 'used' })
    expect(await f.engine.links.inspect(message.token as string)).toMatchObject({ status: 'used' })
  })

  it('answers unknown for a token that was never issued or is malformed', async () => {
    expect(await f.engine.links.confirm('A'.repeat(32))).toEqual({ result: 'unknown' })
    expect(await f.engine.links.inspect('../../etc/passwd')).toEqual({ status: 'unknown' })
  })
})

describe('events and audit', () => {
  it('emits typed events for each step, carrying no secret', async () => {
    const seen: [string, unknown][] = []
    for (const name of [
      'challenge.started',
      'challenge.confirmed',
      'challenge.authenticated',
      'challenge.failed',
      'challenge.expired',
    ] as const)
      f.engine.events.on(name, ((event: unknown) => seen.push([name, event])) as never)
    const { message } = await startWith('passwordless')
    await f.engine.links.confirm(message.token as string)
    await f.acme.check(login)
    const pin = await startWith('pin')
    await f.acme.check({ ...login, pin: wrongPin(pin.message.pin as string) })
    f.clock.advance(5 * MINUTE)
    await f.engine.runDue()
    expect(seen.map(([name]) => name)).toEqual([
      'challenge.started',
      'challenge.confirmed',
      'challenge.authenticated',
      'challenge.started',
      'challenge.failed',
      'challenge.expired',
    ])
    expect(seen[4]?.[1]).toMatchObject({
      reason: 'wrong_pin',
      final: false,
      system: 'payroll',
      authid: 'alice',
    })
    const text = JSON.stringify(seen)
    expect(text).not.toContain(message.token)
    expect(text).not.toContain(pin.message.pin)
  })

  it('keeps logging in when an event listener throws', async () => {
    f.engine.events.on('challenge.started', () => {
      throw new Error('listener bug')
    })
    expect((await startWith('pin')).started.result).toBe('success')
    expect(f.warnings).toContain('an engine event listener threw')
  })

  it('audits every step with masked destinations and never a secret', async () => {
    const { message } = await startWith('passwordless', 'sms')
    await f.engine.links.confirm(message.token as string)
    await f.acme.check(login)
    await f.acme.check({ system: 'nope', authid: 'alice' })
    const { events } = await f.acme.audit.list()
    expect(events.map((e) => [e.type, e.outcome, e.reason])).toEqual([
      ['system.created', 'success', null],
      ['user.created', 'success', null],
      ['user.assigned', 'success', null],
      ['challenge.started', 'success', null],
      ['delivery', 'queued', null],
      ['delivery', 'sent', null],
      ['link.confirmed', 'success', null],
      ['challenge.checked', 'authenticated', null],
      ['challenge.checked', 'security error', 'unknown_system'],
    ])
    expect(events[3]?.details).toMatchObject({ channel: 'sms', destination: '+1******2671' })
    const everything = JSON.stringify(f.rows('auditEvents'))
    expect(everything).not.toContain(message.token)
    expect(everything).not.toContain('+14155552671')
  })
})

describe('check with a numeric PIN', () => {
  it('pads a JSON-number PIN with leading zeros to the policy’s length', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    await f.acme.settings.update({ sendLimits: { perUserPerHour: 1000, perDestinationPerHour: 1000 } })
    // Find a PIN with a leading zero, as the guide's numeric form loses it.
    for (let i = 0; i < 200; i++) {
      await f.acme.start(login)
      const pin = f.notifier.last().pin as string
      if (!pin.startsWith('0')) continue
      expect(await f.acme.check({ ...login, pin: Number(pin) })).toMatchObject({ result: 'authenticated' })
      return
    }
    throw new Error('no PIN with a leading zero in 200 starts')
  })

  it('refuses a PIN that is neither digits nor a whole number', async () => {
    await expect(f.acme.check({ ...login, pin: 1.5 })).rejects.toMatchObject({ field: 'pin' })
    await expect(f.acme.check({ ...login, pin: -1 })).rejects.toMatchObject({ field: 'pin' })
    await expect(f.acme.check({ ...login, pin: {} as never })).rejects.toMatchObject({ field: 'pin' })
  })
})

describe('check with the challenge id from start', () => {
  it('answers for that challenge only: a superseded one gets no_pending_challenge, never the newer outcome', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    const first = await f.acme.start(login)
    const second = await f.acme.start(login)
    await f.engine.links.confirm(f.notifier.last().token as string)
    const firstId = (first as { challengeId: string }).challengeId
    const secondId = (second as { challengeId: string }).challengeId
    expect(await f.acme.check({ ...login, challengeId: firstId })).toEqual({
      result: 'security error',
      reason: 'no_pending_challenge',
    })
    expect(await f.acme.check({ ...login, challengeId: secondId })).toEqual({
      result: 'authenticated',
      challengeId: secondId,
    })
  })
})
