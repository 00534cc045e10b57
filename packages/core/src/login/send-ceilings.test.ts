import { afterEach, describe, expect, it } from 'vitest'
import { createEngine } from '../engine.js'
import { BASE_URL, type EngineFixture, engineFixture, TEST_SECRET } from '../testing/engine-fixture.js'
import { captureNotifier, cheapHasher, memoryStorage } from '../testing/index.js'

// SECURITY.md S18: SMS pumping. Operator ceilings that accounts can only tighten, refused number kinds,
// a destination counter shared by every account, and a budget of their own for known devices.

const login = { system: 'payroll', authid: 'alice' }
const CEILINGS = {
  sendLimits: {
    perUserPerHour: 20,
    perDestinationPerHour: 20,
    perAccountPerDay: 1000,
    resendCooldownSeconds: 10,
  },
  lockout: { freeFailures: 5, lockAfter: 50, baseDelaySeconds: 30 },
  auditRetentionDays: 90,
}

let f: EngineFixture
afterEach(async () => {
  await f.close()
})

describe('operator ceilings', () => {
  it.each([
    [{ sendLimits: { perUserPerHour: 10_000_000 } }, 'settings.sendLimits.perUserPerHour', 'at most 20'],
    [
      { sendLimits: { perAccountPerDay: 10_000_000 } },
      'settings.sendLimits.perAccountPerDay',
      'at most 1000',
    ],
    [
      { sendLimits: { resendCooldownSeconds: 0 } },
      'settings.sendLimits.resendCooldownSeconds',
      'at least 10',
    ],
    [{ lockout: { freeFailures: 99 } }, 'settings.lockout.freeFailures', 'at most 5'],
    [{ lockout: { baseDelaySeconds: 1 } }, 'settings.lockout.baseDelaySeconds', 'at least 30'],
    [{ auditRetentionDays: 1 }, 'settings.auditRetentionDays', 'at least 90'],
  ])('refuses %j, naming the field and the ceiling', async (input, field, bound) => {
    f = await engineFixture({ ceilings: CEILINGS, resendCooldownSeconds: 30 })
    const before = await f.acme.settings.get()
    const refused = f.acme.settings.update(input)
    await expect(refused).rejects.toMatchObject({ name: 'ValidationError', field })
    await expect(refused).rejects.toThrow(bound)
    await expect(refused).rejects.toThrow("the operator's")
    expect(await f.acme.settings.get()).toEqual(before)
  })

  it('refuses a looser account at creation too', async () => {
    f = await engineFixture({ ceilings: CEILINGS, resendCooldownSeconds: 30 })
    await expect(
      f.engine.accounts.create({ name: 'Pump', settings: { lockout: { freeFailures: 99 } } }),
    ).rejects.toMatchObject({ field: 'settings.lockout.freeFailures' })
  })

  it('accepts tighter settings, and stores defaults within the ceilings', async () => {
    f = await engineFixture({ ceilings: { sendLimits: { perUserPerHour: 3 } } })
    const { id } = await f.engine.accounts.create({ name: 'Other' })
    expect((await f.engine.account(id).settings.get()).sendLimits.perUserPerHour).toBe(3)
    const settings = await f.acme.settings.update({
      sendLimits: { perUserPerHour: 2 },
      lockout: { lockAfter: 10 },
    })
    expect(settings.sendLimits.perUserPerHour).toBe(2)
    expect(settings.lockout.lockAfter).toBe(10)
  })

  it('applies the ceiling to a looser value stored before it was set', async () => {
    f = await engineFixture()
    await f.acme.settings.update({
      sendLimits: { perUserPerHour: 10_000_000, perDestinationPerHour: 10_000_000 },
    })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    const bounded = createEngine({
      storage: f.sharedStorage(),
      notifier: captureNotifier(),
      clock: f.clock,
      secret: TEST_SECRET,
      links: { baseUrl: BASE_URL },
      hasher: cheapHasher(),
      ceilings: { sendLimits: { perUserPerHour: 2 } },
    })
    const acme = bounded.account(f.acme.id)
    expect((await acme.settings.get()).sendLimits.perUserPerHour).toBe(2)
    expect((await acme.start(login)).result).toBe('success')
    expect((await acme.start(login)).result).toBe('success')
    expect(await acme.start(login)).toMatchObject({ result: 'rate limited' })
    // An unrelated change still goes through, and stores the bounded value.
    const updated = await acme.settings.update({ uniformResponses: false })
    expect(updated.sendLimits.perUserPerHour).toBe(2)
  })

  it('never purges audit events younger than the minimum retention', async () => {
    f = await engineFixture()
    await f.acme.settings.update({ auditRetentionDays: 1 })
    const bounded = createEngine({
      storage: f.sharedStorage(),
      notifier: captureNotifier(),
      clock: f.clock,
      secret: TEST_SECRET,
      links: { baseUrl: BASE_URL },
      hasher: cheapHasher(),
      ceilings: { auditRetentionDays: 30 },
    })
    f.clock.advance(10 * 86_400_000)
    expect((await bounded.runDue()).auditPurged).toBe(0)
    f.clock.advance(21 * 86_400_000)
    expect((await bounded.runDue()).auditPurged).toBeGreaterThan(0)
  })

  it('refuses a malformed ceiling, naming it', () => {
    expect(() =>
      createEngine({
        storage: memoryStorage(),
        notifier: captureNotifier(),
        secret: TEST_SECRET,
        links: { baseUrl: BASE_URL },
        ceilings: { sendLimits: { perUserPerDay: 3 } } as never,
      }),
    ).toThrow(expect.objectContaining({ field: 'ceilings.sendLimits.perUserPerDay' }))
  })
})

describe('refused phone numbers', () => {
  it.each([
    ['+449098790000', 'premium-rate'],
    ['+19005550123', 'premium-rate'],
    ['+882164444444', 'international-network'],
    ['+883510012345', 'international-network'],
    ['+881612345678', 'satellite'],
  ])('refuses %s as %s when it is stored', async (phone, kind) => {
    f = await engineFixture()
    await expect(f.acme.users.create({ authid: 'pump', phone })).rejects.toMatchObject({
      field: 'phone',
      message: expect.stringContaining(kind),
    })
    await expect(f.acme.users.update('alice', { phone })).rejects.toMatchObject({ field: 'phone' })
  })

  it('accepts ordinary mobile and fixed numbers', async () => {
    f = await engineFixture()
    await f.acme.users.create({ authid: 'bob', phone: '+447911123456' })
    await f.acme.users.create({ authid: 'carol', phone: '+4930123456' })
  })

  it('sends nothing at start to a refused number stored before the refusal', async () => {
    f = await engineFixture()
    await f.acme.users.create({ authid: 'old', phone: '+14155552672' })
    // Stored before the refusal existed, straight into the table.
    f.tamper('users', (user) =>
      user.authid === 'old' ? { ...user, phone: '+449098790000', email: null } : user,
    )
    await f.acme.users.assign('old', [{ system: 'payroll', method: 'pin', channel: 'sms' }])
    const sent = f.notifier.messages.length
    expect(await f.acme.start({ system: 'payroll', authid: 'old' })).toEqual({
      result: 'security error',
      reason: 'destination_refused',
    })
    expect(f.notifier.messages.length).toBe(sent)
  })
})

describe('send budgets', () => {
  it('counts a destination across accounts', async () => {
    f = await engineFixture()
    await f.acme.settings.update({ sendLimits: { perDestinationPerHour: 2 } })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'sms' }])
    const other = f.engine.account(
      (
        await f.engine.accounts.create({
          name: 'Other',
          settings: { sendLimits: { perDestinationPerHour: 2, resendCooldownSeconds: 0 } },
        })
      ).id,
    )
    await other.systems.create({ name: 'payroll', policies: { pin: { enabled: true, channels: ['sms'] } } })
    await other.users.create({ authid: 'alice', phone: '+14155552671' })
    await other.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'sms' }])
    expect((await f.acme.start(login)).result).toBe('success')
    expect((await other.start(login)).result).toBe('success')
    expect(await other.start(login)).toMatchObject({ result: 'rate limited' })
    const refusal = (await other.audit.list({ outcome: 'rate limited' })).events[0]
    expect(refusal?.details).toMatchObject({ limit: 'dest' })
  })

  it('gives a device the user signed in from its own budget, so strangers cannot lock the user out', async () => {
    f = await engineFixture()
    await f.acme.settings.update({ sendLimits: { perUserPerHour: 2 } })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    const laptop = { ...login, context: { deviceId: 'laptop-1' } }
    expect((await f.acme.start(laptop)).result).toBe('success')
    const pin = f.notifier.last().pin as string
    expect((await f.acme.check({ ...login, pin })).result).toBe('authenticated')
    // A stranger spends what is left of the user's hour, from no device or a made-up one.
    expect((await f.acme.start(login)).result).toBe('success')
    expect(await f.acme.start(login)).toMatchObject({ result: 'rate limited' })
    expect(await f.acme.start({ ...login, context: { deviceId: 'made-up' } })).toMatchObject({
      result: 'rate limited',
    })
    // The known laptop still signs in, within its own budget.
    expect((await f.acme.start(laptop)).result).toBe('success')
    expect((await f.acme.start(laptop)).result).toBe('success')
    expect(await f.acme.start(laptop)).toMatchObject({ result: 'rate limited' })
  })
})
