import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createEngine } from '../engine.js'
import { BASE_URL, type EngineFixture, engineFixture, TEST_SECRET } from '../testing/engine-fixture.js'
import { CONSOLE_SYSTEM } from './console-access.js'
import type { ConsoleSessions } from './console-sessions.js'

const MINUTE = 60_000
const ROOT = 'root@example.com'

/** A console login of `authid` that `check` answered `authenticated`: its challenge id. */
async function consoleLogin(f: EngineFixture, authid = ROOT): Promise<string> {
  const started = await f.acme.start({ system: CONSOLE_SYSTEM, authid })
  if (started.result !== 'success' || !started.challengeId)
    throw new Error(`start: ${JSON.stringify(started)}`)
  // Number matching is on for console sign-ins (S12): the page asks for the code the start returned.
  expect(started.matchCode).toMatch(/^\d{3}$/)
  const token = f.notifier.last().token ?? ''
  expect(await f.engine.links.confirm(token, { matchCode: started.matchCode as string })).toMatchObject({
    result: 'confirmed',
  })
  const checked = await f.acme.check({ system: CONSOLE_SYSTEM, authid, challengeId: started.challengeId })
  if (checked.result !== 'authenticated') throw new Error(`check: ${JSON.stringify(checked)}`)
  return checked.challengeId
}

describe('console sessions', () => {
  let f: EngineFixture
  let sessions: ConsoleSessions
  beforeEach(async () => {
    f = await engineFixture()
    await f.acme.console.grant({ authid: ROOT, email: ROOT, role: 'admin' })
    sessions = f.engine.consoleSessions()
  })
  afterEach(() => f.close())

  const open = async (authid = ROOT) => {
    const opened = await sessions.open({ accountId: f.acme.id, challengeId: await consoleLogin(f, authid) })
    if (opened.result !== 'opened') throw new Error(`open: ${opened.reason}`)
    return opened
  }

  it('opens a session on an authenticated console login, once, and keeps only the token’s hash', async () => {
    const challengeId = await consoleLogin(f)
    const opened = await sessions.open({
      accountId: f.acme.id,
      challengeId,
      ip: '198.51.100.9',
      userAgent: 'UA',
    })
    if (opened.result !== 'opened') throw new Error(opened.reason)
    expect(opened.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(await sessions.resolve(opened.token)).toMatchObject({ authid: ROOT, role: 'admin', fresh: true })
    expect(await sessions.open({ accountId: f.acme.id, challengeId })).toEqual({
      result: 'refused',
      reason: 'used',
    })
    const [row] = f.rows('consoleSessions')
    expect(JSON.stringify(row)).not.toContain(opened.token)
    expect(row).toMatchObject({ ip: '198.51.100.9', userAgent: 'UA' })
    const [signedIn] = (await f.acme.audit.list({ type: 'console.signed_in' })).events
    expect(signedIn).toMatchObject({ actor: `console:${ROOT}`, challengeId, outcome: 'success' })
    expect(JSON.stringify(signedIn)).not.toContain(opened.token)
  })

  it('refuses logins that are not authenticated console logins of this account, in the last 5 minutes', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    const started = await f.acme.start({ system: 'payroll', authid: 'alice' })
    await f.engine.links.confirm(f.notifier.last().token ?? '')
    const payroll = await f.acme.check({ system: 'payroll', authid: 'alice' })
    const refused = { result: 'refused', reason: 'not_authenticated' }
    expect(payroll.result).toBe('authenticated')
    expect(
      await sessions.open({
        accountId: f.acme.id,
        challengeId: (started as { challengeId: string }).challengeId,
      }),
    ).toEqual(refused)
    const pending = await f.acme.start({ system: CONSOLE_SYSTEM, authid: ROOT })
    expect(
      await sessions.open({
        accountId: f.acme.id,
        challengeId: (pending as { challengeId: string }).challengeId,
      }),
    ).toEqual(refused)
    const challengeId = await consoleLogin(f)
    const other = await f.engine.accounts.create({ name: 'Other' })
    expect(await sessions.open({ accountId: other.id, challengeId })).toEqual(refused)
    f.clock.advance(5 * MINUTE + 1)
    expect(await sessions.open({ accountId: f.acme.id, challengeId })).toEqual(refused)
  })

  it('refuses, and audits, a login of a user without a console role', async () => {
    const challengeId = await consoleLogin(f)
    await f.acme.users.update(ROOT, { attributes: {} })
    expect(await sessions.open({ accountId: f.acme.id, challengeId })).toEqual({
      result: 'refused',
      reason: 'not_administrator',
    })
    const [refusal] = (await f.acme.audit.list({ type: 'console.signed_in' })).events
    expect(refusal).toMatchObject({ authid: ROOT, outcome: 'security error' })
  })

  it('ends after 30 idle minutes, but not while used, and after 12 hours however used', async () => {
    const idle = await open()
    f.clock.advance(30 * MINUTE)
    expect(await sessions.resolve(idle.token)).toBeNull()
    const busy = await open()
    for (let i = 0; i < 35; i++) {
      f.clock.advance(20 * MINUTE)
      expect(await sessions.resolve(busy.token)).not.toBeNull()
    }
    f.clock.advance(20 * MINUTE)
    expect(await sessions.resolve(busy.token)).toBeNull()
  })

  it('ends as soon as its user is disabled or loses the console role', async () => {
    const one = await open()
    await f.acme.users.update(ROOT, { attributes: { consoleRole: 'viewer' } })
    expect(await sessions.resolve(one.token)).toMatchObject({ role: 'viewer' })
    await f.acme.console.grant({ authid: ROOT, role: null })
    expect(await sessions.resolve(one.token)).toBeNull()
    await f.acme.console.grant({ authid: ROOT, role: 'admin' })
    const two = await open()
    await f.acme.users.update(ROOT, { status: 'disabled' })
    expect(await sessions.resolve(two.token)).toBeNull()
  })

  it('is fresh for 5 minutes after a login, and again after a re-authentication by the same user', async () => {
    const opened = await open()
    f.clock.advance(5 * MINUTE + 1)
    expect(await sessions.resolve(opened.token)).toMatchObject({ fresh: false })
    await f.acme.console.grant({ authid: 'eve@example.com', email: 'eve@example.com', role: 'admin' })
    const eves = await consoleLogin(f, 'eve@example.com')
    expect(await sessions.reauthenticate(opened.token, eves)).toEqual({
      result: 'refused',
      reason: 'not_authenticated',
    })
    const mine = await consoleLogin(f)
    const again = await sessions.reauthenticate(opened.token, mine)
    expect(again).toMatchObject({ result: 'opened', token: opened.token, session: { fresh: true } })
    expect(await sessions.resolve(opened.token)).toMatchObject({ fresh: true })
    expect(await sessions.reauthenticate(opened.token, mine)).toEqual({ result: 'refused', reason: 'used' })
  })

  it('lists the holder’s sessions, revokes one, and signs out, auditing each with the administrator as actor', async () => {
    const first = await open()
    f.clock.advance(1000)
    const second = await open()
    expect((await sessions.list(second.token)).map((s) => s.id)).toEqual([
      second.session.id,
      first.session.id,
    ])
    expect(await sessions.revoke(second.token, first.session.id)).toBe(true)
    expect(await sessions.resolve(first.token)).toBeNull()
    expect(await sessions.revoke(second.token, first.session.id)).toBe(false)
    await sessions.signOut(second.token)
    expect(await sessions.resolve(second.token)).toBeNull()
    const types = (await f.acme.audit.list()).events
      .filter((e) => e.actor === `console:${ROOT}`)
      .map((e) => e.type)
    expect(types).toEqual(expect.arrayContaining(['console.session.revoked', 'console.signed_out']))
    expect(await sessions.sweep()).toBe(2)
  })

  it('cannot revoke another administrator’s session', async () => {
    const mine = await open()
    await f.acme.console.grant({ authid: 'eve@example.com', email: 'eve@example.com', role: 'admin' })
    const eves = await open('eve@example.com')
    expect(await sessions.revoke(eves.token, mine.session.id)).toBe(false)
    expect(await sessions.resolve(mine.token)).not.toBeNull()
  })

  it('refuses to host the console on a storage without a session store, saying why', () => {
    const engine = createEngine({
      storage: { ...f.storage, consoleSessions: undefined },
      notifier: f.notifier,
      secret: TEST_SECRET,
      links: { baseUrl: BASE_URL },
    })
    expect(() => engine.consoleSessions()).toThrow(/no console session store/)
    const noQueries = createEngine({
      storage: { ...f.storage, adminQueries: undefined },
      notifier: f.notifier,
      secret: TEST_SECRET,
      links: { baseUrl: BASE_URL },
    })
    expect(() => noQueries.consoleSessions()).toThrow(/no admin query store \(Storage\.adminQueries\)/)
    expect(() => f.engine.consoleSessions({ idleMs: 1000 })).toThrow(/idleMs/)
  })
})
