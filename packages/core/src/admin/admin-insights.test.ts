import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DeliveryError, NotFoundError, ValidationError } from '../domain/errors.js'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'
import { CONSOLE_SYSTEM } from './console-access.js'

const HOUR = 3_600_000

describe('the account handle’s admin insights', () => {
  let f: EngineFixture
  beforeEach(async () => {
    f = await engineFixture()
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
  })
  afterEach(() => f.close())

  /** A passwordless login of alice through to `authenticated`. */
  const login = async () => {
    await f.acme.start({ system: 'payroll', authid: 'alice' })
    await f.engine.links.confirm(f.notifier.last().token ?? '')
    expect((await f.acme.check({ system: 'payroll', authid: 'alice' })).result).toBe('authenticated')
  }

  describe('users.search', () => {
    it('pages through matches with an opaque cursor, and refuses a forged one', async () => {
      for (const name of ['Zoe Zed', 'Zara Zed', 'Zack Zed'])
        await f.acme.users.create({ authid: name.toLowerCase().replace(' ', '.'), displayName: name })
      const first = await f.acme.users.search({ query: 'Za', by: 'displayName', limit: 1 })
      expect(first.users.map((u) => u.displayName)).toEqual(['Zack Zed'])
      const second = await f.acme.users.search({
        query: 'Za',
        by: 'displayName',
        limit: 1,
        after: first.next as string,
      })
      expect(second).toMatchObject({ users: [{ displayName: 'Zara Zed' }], next: null })
      await expect(f.acme.users.search({ after: 'not a cursor' })).rejects.toBeInstanceOf(ValidationError)
      await expect(f.acme.users.search({ by: 'password' as 'email' })).rejects.toThrow(/by/)
    })

    it('reads a phone and an email as they are stored', async () => {
      await f.acme.users.create({ authid: 'bob', email: 'Bob@Example.COM', phone: '+1 415 555 0199' })
      expect(
        (await f.acme.users.search({ query: 'Bob@example.com', by: 'email' })).users.map((u) => u.authid),
      ).toEqual(['bob'])
      expect(
        (await f.acme.users.search({ query: '1 (415) 555-01', by: 'phone' })).users.map((u) => u.authid),
      ).toEqual(['bob'])
      expect((await f.acme.users.search()).users.map((u) => u.authid)).toEqual(['alice', 'bob'])
    })
  })

  describe('deliveries', () => {
    it('lists a waiting delivery and requeues it, audited with the caller as actor', async () => {
      f.notifier.failNext(new DeliveryError('temporary', '421 busy'))
      await f.acme.start({ system: 'payroll', authid: 'alice' })
      const { deliveries } = await f.acme.deliveries.list()
      expect(deliveries).toMatchObject([
        { status: 'failed', system: 'payroll', authid: 'alice', lastError: '421 busy' },
      ])
      const id = deliveries[0]?.id as string
      const console = f.engine.account(f.acme.id, { actor: 'console:root' })
      expect(await console.deliveries.requeue(id)).toEqual({ requeued: true })
      const [requeued] = (await f.acme.audit.list({ type: 'delivery.requeued' })).events
      expect(requeued).toMatchObject({ actor: 'console:root', details: { delivery: id } })
      expect(await f.engine.deliverDue()).toMatchObject({ delivered: 1 })
      expect((await f.acme.deliveries.list()).deliveries).toEqual([])
      expect(await f.acme.deliveries.requeue(id)).toEqual({ requeued: false })
    })
  })

  describe('stats', () => {
    it('counts logins per hour and per day from the audit trail, succeeded and failed, per system', async () => {
      await login()
      await f.acme.start({ system: 'payroll', authid: 'nobody' }) // refused: unknown_user, a failed login
      await f.acme.start({ system: 'no-such-system', authid: 'alice' }) // not a system: not counted
      f.clock.advance(HOUR)
      await login()
      const hourly = await f.acme.stats.logins({ bucket: 'hour', count: 3 })
      expect(hourly.buckets.map((b) => [b.succeeded, b.failed])).toEqual([
        [0, 0],
        [1, 1],
        [1, 0],
      ])
      expect(hourly.systems).toEqual([{ system: 'payroll', succeeded: 2, failed: 1 }])
      expect(hourly.behind).toBe(0)
      const daily = await f.acme.stats.logins({ bucket: 'day', count: 2 })
      expect(daily.buckets.at(-1)).toMatchObject({ succeeded: 2, failed: 1 })
      expect((await f.acme.stats.logins({ system: 'other' })).buckets.every((b) => b.succeeded === 0)).toBe(
        true,
      )
    })

    it('counts each event once however many times it is asked, and catches up in batches', async () => {
      for (let i = 0; i < 3; i++) await login()
      expect(await f.acme.stats.countLogins(2)).toMatchObject({ counted: 2 })
      const [a, b] = await Promise.all([f.acme.stats.logins(), f.acme.stats.logins()])
      expect(a.buckets.at(-1)?.succeeded).toBe(3)
      expect(b.buckets.at(-1)?.succeeded).toBe(3)
      expect((await f.acme.stats.logins()).buckets.at(-1)?.succeeded).toBe(3)
    })

    it('gives the overview: pending challenges, deliveries in trouble, locked users, the last verification', async () => {
      await f.acme.settings.update({ lockout: { freeFailures: 0, lockAfter: 1 } })
      await f.acme.users.create({ authid: 'bob', email: 'bob@example.com' })
      await f.acme.users.assign('bob', [{ system: 'payroll', method: 'pin' }])
      await f.acme.start({ system: 'payroll', authid: 'bob' })
      await f.acme.check({ system: 'payroll', authid: 'bob', pin: '00000000' })
      f.notifier.failNext(new DeliveryError('permanent', '550 gone'))
      await f.acme.start({ system: 'payroll', authid: 'alice' })
      expect(await f.acme.stats.overview()).toMatchObject({
        pendingChallenges: 2,
        deliveries: { waiting: 0, abandonedLastDay: 1 },
        lockedUsers: 1,
        audit: { lastVerification: null },
      })
      const verdict = await f.acme.audit.verify()
      expect((await f.acme.stats.overview()).audit).toEqual({
        lastSeq: (verdict as { lastSeq: number }).lastSeq,
        lastVerification: { ...verdict, at: new Date(f.clock.now()) },
      })
    })
  })

  describe('audit.search', () => {
    it('reads newest first within a bounded window, and says where to go on', async () => {
      for (let i = 0; i < 6; i++) {
        f.clock.advance(1000)
        await f.acme.users.create({ authid: `u${i}` })
      }
      const head = (await f.acme.stats.overview()).audit.lastSeq
      const page = await f.acme.audit.search({ type: 'user.created', limit: 2 })
      expect(page.events.map((e) => e.authid)).toEqual(['u5', 'u4'])
      expect(page.next).toBe(page.events[1]?.seq)
      const narrow = await f.acme.audit.search({ authid: 'u0', scan: 3 })
      expect(narrow).toMatchObject({ events: [], next: head - 2, scanned: { from: head - 2, to: head } })
      const found = await f.acme.audit.search({ authid: 'u0', before: narrow.next as number, scan: 100 })
      expect(found.events.map((e) => e.authid)).toEqual(['u0'])
    })

    it('turns a time range into a window of sequence numbers', async () => {
      const t0 = f.clock.now()
      for (let i = 0; i < 5; i++) {
        f.clock.advance(HOUR)
        await f.acme.users.create({ authid: `h${i}` })
      }
      const range = { since: new Date(t0 + 2 * HOUR), until: new Date(t0 + 4 * HOUR) }
      expect((await f.acme.audit.search(range)).events.map((e) => e.authid)).toEqual(['h2', 'h1'])
      // One event per page of the window: the window starts at `until`, and `next` walks it to `since`.
      const first = await f.acme.audit.search({ ...range, scan: 1 })
      expect(first.events.map((e) => e.authid)).toEqual(['h2'])
      const second = await f.acme.audit.search({ ...range, scan: 1, before: first.next as number })
      expect(second).toMatchObject({ events: [{ authid: 'h1' }], next: null })
    })
  })

  describe('settings.previewMessage', () => {
    it('composes a message per locale with the account’s and the system’s overrides, or an unsaved draft', async () => {
      const german = await f.acme.settings.previewMessage({ locale: 'de', method: 'pin', channel: 'email' })
      expect(german).toMatchObject({ subject: 'Ihr Anmeldecode für Acme', locale: 'de' })
      expect(german.text).toContain('12345678')
      await f.acme.systems.update('payroll', { messages: { appName: 'Payroll' } })
      const link = await f.acme.settings.previewMessage({
        locale: 'en',
        method: 'passwordless',
        channel: 'sms',
        system: 'payroll',
      })
      expect(link.text).toMatch(/^Payroll sign-in link: https:\/\/auth\.example\.com\/v1\/links\/PREVIEW/)
      const draft = await f.acme.settings.previewMessage({
        locale: 'en',
        method: 'pin',
        channel: 'sms',
        messages: { templates: { en: { smsPin: 'Code {pin} for {app}' } } },
      })
      expect(draft.text).toBe('Code 12345678 for Acme')
      await expect(
        f.acme.settings.previewMessage({
          locale: 'en',
          method: 'pin',
          channel: 'sms',
          messages: { templates: { en: { smsPin: 'no code' } } },
        }),
      ).rejects.toThrow(/must contain \{pin\}/)
      await expect(
        f.acme.settings.previewMessage({ locale: 'en', method: 'pin', channel: 'email', system: 'nope' }),
      ).rejects.toBeInstanceOf(NotFoundError)
    })
  })

  describe('console.grant', () => {
    it('creates the console system and the administrator, and takes the role away', async () => {
      expect(
        await f.acme.console.grant({ authid: 'root', email: 'root@example.com', role: 'viewer' }),
      ).toEqual({
        role: 'viewer',
        createdUser: true,
      })
      const system = await f.acme.systems.get(CONSOLE_SYSTEM)
      expect(system).toMatchObject({ sensitivity: 'high', rules: [{ effect: { numberMatching: true } }] })
      expect(await f.acme.users.assignments('root')).toEqual([
        { system: CONSOLE_SYSTEM, method: 'passwordless', channel: 'email' },
      ])
      await f.acme.users.update('root', { attributes: { team: 'ops', consoleRole: 'viewer' } })
      await f.acme.console.grant({ authid: 'root', role: null })
      expect((await f.acme.users.get('root'))?.attributes).toEqual({ team: 'ops' })
      await expect(f.acme.console.grant({ authid: 'ghost', role: 'admin' })).rejects.toBeInstanceOf(
        NotFoundError,
      )
      await expect(f.acme.console.grant({ authid: 'root', role: 'owner' as 'admin' })).rejects.toThrow(/role/)
      await f.acme.users.create({ authid: 'phone-only', phone: '+14155550123' })
      await expect(f.acme.console.grant({ authid: 'phone-only', role: 'admin' })).rejects.toThrow(/email/)
    })
  })
})
