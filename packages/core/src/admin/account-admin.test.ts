import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'

let f: EngineFixture
beforeEach(async () => {
  f = await engineFixture()
})
afterEach(async () => {
  await f.close()
})

describe('systems', () => {
  it('fills in default policies: methods off, 8-digit PINs, 5 attempts, 10- and 5-minute lifetimes', async () => {
    const system = await f.acme.systems.create({ name: 'crm' })
    expect(system.policies).toEqual({
      passwordless: { enabled: false, channels: ['email', 'sms'], lifetimeSeconds: 600 },
      pin: { enabled: false, channels: ['email', 'sms'], lifetimeSeconds: 300, pinLength: 8, attempts: 5 },
    })
    expect((await f.acme.systems.list()).map((s) => s.name)).toEqual(['crm', 'payroll'])
  })

  it('merges an update over the current policies', async () => {
    const updated = await f.acme.systems.update('payroll', { policies: { pin: { pinLength: 10 } } })
    expect(updated.policies.pin).toMatchObject({ enabled: true, pinLength: 10, attempts: 5 })
    expect((await f.acme.systems.get('payroll'))?.policies.pin.pinLength).toBe(10)
  })

  it.each([
    [{ pin: { pinLength: 5 } }, 'policies.pin.pinLength'],
    [{ pin: { pinLength: 11 } }, 'policies.pin.pinLength'],
    [{ pin: { attempts: 6 } }, 'policies.pin.attempts'],
    [{ passwordless: { lifetimeSeconds: 601 } }, 'policies.passwordless.lifetimeSeconds'],
    [{ passwordless: { channels: [] } }, 'policies.passwordless.channels'],
    [{ passwordless: { channels: ['fax'] } }, 'policies.passwordless.channels'],
    [{ pin: { enabled: 'yes' } }, 'policies.pin.enabled'],
    // Mistyped keys, which once left the method off without a word.
    [{ passwordLess: { enabled: true } }, 'policies.passwordLess'],
    [{ passwordless: { enable: true } }, 'policies.passwordless.enable'],
    [{ pin: { enabled: true, returnUrls: [] } }, 'policies.pin.returnUrls'],
    [{ passwordless: { pinLength: 6 } }, 'policies.passwordless.pinLength'],
    [[{ pin: { enabled: true } }], 'policies'],
  ])('refuses policies %j, naming %s', async (policies, field) => {
    await expect(f.acme.systems.create({ name: 'x', policies: policies as never })).rejects.toMatchObject({
      field,
    })
  })

  it('lists the valid keys when a policy key is mistyped, on create and on update', async () => {
    await expect(
      f.acme.systems.create({ name: 'x', policies: { pin: { enabeld: true } } as never }),
    ).rejects.toThrow(
      'policies.pin.enabeld: is not one of enabled, channels, lifetimeSeconds, pinLength, attempts',
    )
    await expect(f.acme.systems.update('payroll', { policies: { policy: {} } as never })).rejects.toThrow(
      'policies.policy: is not one of passwordless, pin',
    )
    expect((await f.acme.systems.get('payroll'))?.policies.pin.enabled).toBe(true)
  })

  it('refuses a duplicate name with ConflictError and an unknown system with NotFoundError', async () => {
    await expect(f.acme.systems.create({ name: 'payroll' })).rejects.toBeInstanceOf(ConflictError)
    await expect(f.acme.systems.update('nope', {})).rejects.toBeInstanceOf(NotFoundError)
  })

  it('refuses to create anything in an account that does not exist', async () => {
    await expect(f.engine.account('missing').systems.create({ name: 'x' })).rejects.toBeInstanceOf(
      NotFoundError,
    )
  })
})

describe('users', () => {
  it('stores normalized contact points and updates or removes them', async () => {
    const bob = await f.acme.users.create({
      authid: 'bob',
      email: ' Bob@Example.com',
      phone: '+44 7911 123456',
    })
    expect(bob).toMatchObject({ email: 'Bob@example.com', phone: '+447911123456', status: 'active' })
    const changed = await f.acme.users.update('bob', { email: null, displayName: 'Bob B.' })
    expect(changed).toMatchObject({ email: null, phone: '+447911123456', displayName: 'Bob B.' })
  })

  it.each([
    [{ authid: 'x', email: 'not-an-email' }, 'email'],
    [{ authid: 'x', phone: '12345' }, 'phone'],
    [{ authid: '' }, 'authid'],
    [{ authid: 'x', status: 'locked' }, 'status'],
  ])('refuses %j, naming %s', async (input, field) => {
    await expect(f.acme.users.create(input as never)).rejects.toMatchObject({ field })
  })

  it('refuses a duplicate authid with ConflictError', async () => {
    await expect(f.acme.users.create({ authid: 'alice' })).rejects.toBeInstanceOf(ConflictError)
  })

  it('pages users by authid', async () => {
    for (const authid of ['dave', 'bob', 'carol']) await f.acme.users.create({ authid })
    const first = await f.acme.users.list({ limit: 2 })
    expect([first.users.map((u) => u.authid), first.next]).toEqual([['alice', 'bob'], 'bob'])
    const second = await f.acme.users.list({ after: 'bob', limit: 2 })
    expect([second.users.map((u) => u.authid), second.next]).toEqual([['carol', 'dave'], null])
  })
})

describe('users.assign', () => {
  it('assigns several systems at once, one method each', async () => {
    await f.acme.systems.create({ name: 'crm', policies: { passwordless: { enabled: true } } })
    const assigned = await f.acme.users.assign('alice', [
      { system: 'payroll', method: 'pin', channel: 'sms' },
      { system: 'crm', method: 'passwordless' },
    ])
    expect(assigned.sort((a, b) => a.system.localeCompare(b.system))).toEqual([
      { system: 'crm', method: 'passwordless', channel: null },
      { system: 'payroll', method: 'pin', channel: 'sms' },
    ])
  })

  it('switches a method in place: the next start uses it', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    expect(await f.acme.users.assignments('alice')).toEqual([
      { system: 'payroll', method: 'passwordless', channel: null },
    ])
    expect(await f.acme.start({ system: 'payroll', authid: 'alice' })).toMatchObject({
      method: 'passwordless',
    })
  })

  it.each([
    [[{ system: 'nope', method: 'pin' }], 'assignments[0].system'],
    [[{ system: 'payroll', method: 'totp' }], 'assignments[0].method'],
    [[{ system: 'payroll', method: 'pin', channel: 'fax' }], 'assignments[0].channel'],
    [
      [
        { system: 'payroll', method: 'pin' },
        { system: 'payroll', method: 'passwordless' },
      ],
      'assignments[1].system',
    ],
    [[], 'assignments'],
  ])('refuses %j, naming %s, and saves none of it', async (assignments, field) => {
    await expect(f.acme.users.assign('alice', assignments as never)).rejects.toMatchObject({ field })
    expect(await f.acme.users.assignments('alice')).toEqual([])
  })

  it('refuses a method the system does not enable, saying which policy enables it', async () => {
    await f.acme.systems.create({ name: 'crm', policies: { passwordless: { enabled: true } } })
    const refused = f.acme.users.assign('alice', [{ system: 'crm', method: 'pin' }])
    await expect(refused).rejects.toBeInstanceOf(ValidationError)
    await expect(refused).rejects.toMatchObject({ field: 'assignments[0].method' })
    await expect(refused).rejects.toThrow('policies: { pin: { enabled: true } }')
  })

  it('refuses a channel the user has no contact point for', async () => {
    await f.acme.users.create({ authid: 'bob', email: 'bob@example.com' })
    await expect(
      f.acme.users.assign('bob', [{ system: 'payroll', method: 'pin', channel: 'sms' }]),
    ).rejects.toMatchObject({
      field: 'assignments[0].channel',
    })
  })
})

describe('a system’s returnUrl', () => {
  it('must be https on an origin the account allows', async () => {
    await expect(
      f.acme.systems.update('payroll', { returnUrl: 'https://app.example.com/in' }),
    ).rejects.toMatchObject({
      field: 'returnUrl',
    })
    await f.acme.settings.update({ returnOrigins: ['https://app.example.com'] })
    expect(
      (await f.acme.systems.update('payroll', { returnUrl: 'https://app.example.com/in' })).returnUrl,
    ).toBe('https://app.example.com/in')
    for (const bad of [
      'http://app.example.com/in',
      'https://evil.example.com/in',
      'https://app.example.com.evil.net/',
      'javascript:alert(1)',
    ])
      await expect(f.acme.systems.update('payroll', { returnUrl: bad })).rejects.toMatchObject({
        field: 'returnUrl',
      })
    await expect(f.acme.settings.update({ returnOrigins: ['http://app.example.com'] })).rejects.toMatchObject(
      {
        field: 'settings.returnOrigins[0]',
      },
    )
  })

  it('comes back from a confirmed link only while its origin is still allowed', async () => {
    await f.acme.settings.update({ returnOrigins: ['https://app.example.com'] })
    await f.acme.systems.update('payroll', { returnUrl: 'https://app.example.com/in' })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await f.acme.start({ system: 'payroll', authid: 'alice' })
    expect(await f.engine.links.confirm(f.notifier.last().token as string)).toMatchObject({
      result: 'confirmed',
      returnUrl: 'https://app.example.com/in',
    })
    await f.acme.settings.update({ returnOrigins: [] })
    await f.acme.start({ system: 'payroll', authid: 'alice' })
    expect(await f.engine.links.confirm(f.notifier.last().token as string)).toMatchObject({ returnUrl: null })
  })
})
