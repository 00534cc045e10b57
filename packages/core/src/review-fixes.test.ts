import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DeliveryError } from './domain/errors.js'
import { sha256Hex } from './domain/secrets.js'
import { type EngineFixture, engineFixture } from './testing/engine-fixture.js'

// Regression tests for the findings of the first security review (docs/architecture.md lists them).

let f: EngineFixture
const login = { system: 'payroll', authid: 'alice' }
beforeEach(async () => {
  f = await engineFixture()
})
afterEach(async () => {
  await f.close()
})

describe('account settings', () => {
  it('keeps both of two concurrent updates of different fields (no lost update)', async () => {
    await Promise.all([
      f.acme.settings.update({ uniformResponses: true }),
      f.acme.settings.update({ sendLimits: { perUserPerHour: 42 } }),
    ])
    expect(await f.acme.settings.get()).toMatchObject({
      uniformResponses: true,
      sendLimits: { perUserPerHour: 42 },
    })
  })
})

describe('the audit chain stays verifiable whatever callers send', () => {
  it('refuses lone surrogates, which storage would rewrite under the MAC', async () => {
    await expect(f.acme.start({ system: 'payroll', authid: 'bob\ud800' })).rejects.toMatchObject({
      field: 'authid',
    })
    await expect(f.acme.start({ ...login, context: { userAgent: 'x\udc00' } })).rejects.toMatchObject({
      field: 'context.userAgent',
    })
    await expect(f.acme.users.update('alice', { displayName: 'A\ud800' })).rejects.toMatchObject({
      field: 'displayName',
    })
    expect(await f.acme.audit.verify()).toMatchObject({ ok: true })
  })

  it('cuts a long address or user agent without splitting a character (second review)', async () => {
    // An address keeps 64 UTF-16 units, a user agent 1024; an emoji is two, so an odd cut would leave half.
    const ip = `a${'😀'.repeat(40)}`
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await f.acme.start({ ...login, context: { ip } })
    const token = f.notifier.last().token as string
    // The confirm page passes the browser's header as it came: too long, and with a lone surrogate.
    await f.engine.links.confirm(token, { ip, userAgent: `x\ud800b${'😀'.repeat(600)}` })
    expect(await f.acme.check({ ...login, context: { ip } })).toMatchObject({ result: 'authenticated' })
    const { events } = await f.acme.audit.list()
    const of = (type: string) => events.find((event) => event.type === type)
    expect(of('challenge.started')?.ip).toBe(`a${'😀'.repeat(31)}`)
    expect(of('challenge.checked')?.ip).toBe(`a${'😀'.repeat(31)}`)
    expect(of('link.confirmed')?.userAgent).toBe(`x\ufffdb${'😀'.repeat(510)}`)
    expect(await f.acme.audit.verify()).toMatchObject({ ok: true })
  })

  it('seals details as stored, so an undefined field from a notifier breaks nothing', async () => {
    const quirky = await engineFixture({ notifier: { send: async () => ({}) as { providerId: string } } })
    try {
      await quirky.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
      await quirky.acme.start(login)
      expect(await quirky.acme.audit.verify()).toMatchObject({ ok: true })
    } finally {
      await quirky.close()
    }
  })
})

describe('provider errors', () => {
  it('keep neither the PIN nor the link nor the address when the provider echoes the message', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    const echo = await engineFixture({
      notifier: {
        send: async (m) => {
          throw new DeliveryError('permanent', `550 rejected for ${m.to}: ${m.text}`)
        },
      },
    })
    try {
      await echo.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
      await echo.acme.start(login)
      await echo.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
      await echo.acme.start(login)
      const failures = (await echo.acme.audit.list({ type: 'delivery', outcome: 'abandoned' })).events.map(
        (e) => String(e.details?.error),
      )
      // Each start: the email is refused, then the SMS it falls back to.
      expect(failures).toHaveLength(4)
      for (const text of failures) {
        expect(text).toContain('[redacted]')
        expect(text).not.toMatch(/\d{8}/)
        expect(text).not.toContain('alice@example.com')
        expect(text).not.toContain('+14155552671')
        expect(text).not.toMatch(/links\/[A-Za-z0-9_-]{32}/)
      }
    } finally {
      await echo.close()
    }
  })
})

describe('a lock leaves only by unlock', () => {
  const lock = () => f.tamper('users', (user) => ({ ...user, status: 'locked' }))

  it('refuses locked → disabled (→ active would follow)', async () => {
    lock()
    await expect(f.acme.users.update('alice', { status: 'disabled' })).rejects.toMatchObject({
      field: 'status',
    })
  })

  it('keeps a lock that lands between an admin’s read and write', async () => {
    const stale = await f.storage.users.getUser(f.acme.id, 'alice')
    lock()
    await f.storage.users.updateUser({ ...(stale as NonNullable<typeof stale>), displayName: 'Alice A.' }, [])
    expect(f.rows('users')[0]).toMatchObject({ status: 'locked', displayName: 'Alice A.' })
  })
})

describe('uniformResponses hides throttling too (S20)', () => {
  it('answers success when a real user is over a send limit or in a delay, and audits the truth', async () => {
    await f.acme.settings.update({ uniformResponses: true, sendLimits: { perUserPerHour: 1 } })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    const decoyLike = { result: 'success', challengeId: expect.any(String), delivery: 'queued' }
    expect(await f.acme.start(login)).toMatchObject(decoyLike)
    expect(await f.acme.start(login)).toMatchObject(decoyLike)
    f.tamper('users', (user) => ({ ...user, retryAfter: f.clock.now() + 60_000 }))
    expect(await f.acme.start(login)).toMatchObject(decoyLike)
    const limited = (await f.acme.audit.list({ outcome: 'rate limited' })).events
    expect(limited.map((e) => e.details)).toEqual([
      expect.objectContaining({ limit: 'user', answered: 'success' }),
      expect.objectContaining({ limit: 'failures', answered: 'success' }),
    ])
  })
})

describe('send-limit keys', () => {
  it('name a destination by a keyed digest, not a plain hash anyone could reverse', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'sms' }])
    await f.acme.start(login)
    const keys = f.rows('rateLimits').map((r) => String(r.key))
    expect(keys.some((k) => k.startsWith('dest:'))).toBe(true)
    expect(keys.join()).not.toContain(sha256Hex('+14155552671').slice(0, 32))
  })
})

describe('audit.list', () => {
  it('refuses invalid dates and cursors', async () => {
    await expect(f.acme.audit.list({ since: new Date('nope') })).rejects.toMatchObject({ field: 'since' })
    await expect(f.acme.audit.list({ after: -1 })).rejects.toMatchObject({ field: 'after' })
  })
})
