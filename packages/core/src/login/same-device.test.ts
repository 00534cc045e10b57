import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sha256Hex } from '../domain/secrets.js'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'

const RETURN = 'https://app.example.com/auth/return'
const login = { system: 'payroll', authid: 'alice', returnUrl: RETURN }

let f: EngineFixture
beforeEach(async () => {
  f = await engineFixture()
  await f.acme.systems.update('payroll', {
    policies: { passwordless: { returnUrls: [RETURN, 'http://127.0.0.1:3000/auth/return'] } },
  })
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
})
afterEach(async () => {
  await f.close()
})

/** Starts alice's login and returns its link token and challenge id. */
const start = async (input: Record<string, unknown> = login) => {
  const started = await f.acme.start(input as typeof login)
  if (started.result !== 'success' || started.challengeId === undefined)
    throw new Error(`start failed: ${JSON.stringify(started)}`)
  return { token: f.notifier.last().token as string, started }
}

/** Confirms the link and returns the code the browser is sent back with. */
const confirmForCode = async (token: string, matchCode?: string) => {
  const confirmed = await f.engine.links.confirm(token, matchCode ? { matchCode } : {})
  if (confirmed.result !== 'confirmed' || !confirmed.completionUrl)
    throw new Error(`no completion: ${JSON.stringify(confirmed)}`)
  const url = new URL(confirmed.completionUrl)
  return { url, code: url.searchParams.get('code') as string }
}

const auditOf = async (type: string) =>
  (await f.acme.audit.list({ type })).events.map((e) => ({ outcome: e.outcome, reason: e.reason }))

describe('return URLs of a system', () => {
  it('accepts absolute https URLs and http on loopback hosts only, written in their normal form', async () => {
    for (const bad of [
      'http://app.example.com/auth/return',
      '/auth/return',
      'https://user:pw@app.example.com/r',
      'https://app.example.com/r#frag',
      'https://APP.example.com/r',
      'javascript:alert(1)',
    ])
      await expect(
        f.acme.systems.update('payroll', { policies: { passwordless: { returnUrls: [bad] } } }),
        bad,
      ).rejects.toMatchObject({ field: 'policies.passwordless.returnUrls[0]' })
    const ok = ['https://app.example.com/r?x=1', 'http://localhost:8080/r', 'http://[::1]:8080/r']
    const system = await f.acme.systems.update('payroll', { policies: { passwordless: { returnUrls: ok } } })
    expect(system.policies.passwordless.returnUrls).toEqual(ok)
  })

  it('refuses a start naming an unlisted return URL, even one differing by a character, and sends nothing', async () => {
    for (const unlisted of [`${RETURN}/`, `${RETURN}?next=/`, 'https://evil.example/auth/return'])
      await expect(f.acme.start({ ...login, returnUrl: unlisted })).rejects.toMatchObject({
        field: 'returnUrl',
      })
    expect(f.notifier.messages).toHaveLength(0)
    expect(f.rows('challenges')).toHaveLength(0)
  })
})

describe('same-device completion', () => {
  it('sends the confirming browser to the exact return URL with a 192-bit code kept only as its SHA-256', async () => {
    const { token, started } = await start()
    const { url, code } = await confirmForCode(token)
    expect(`${url.origin}${url.pathname}`).toBe(RETURN)
    expect(code).toMatch(/^[A-Za-z0-9_-]{32}$/)
    const [row] = f.rows('completionCodes')
    expect(row).toMatchObject({
      codeHash: sha256Hex(code),
      challengeId: started.challengeId,
      expiresAt: f.clock.now() + 60_000,
      redeemedAt: null,
    })
    for (const table of ['completionCodes', 'auditEvents', 'challenges'] as const)
      expect(JSON.stringify(f.rows(table)), table).not.toContain(code)
    expect(await auditOf('completion.issued')).toEqual([{ outcome: 'success', reason: null }])
  })

  it('issues nothing for a login that named no return URL', async () => {
    const { token } = await start({ system: 'payroll', authid: 'alice' })
    const confirmed = await f.engine.links.confirm(token)
    expect(confirmed).toMatchObject({ result: 'confirmed' })
    expect(confirmed).not.toHaveProperty('completionUrl')
    expect(f.rows('completionCodes')).toHaveLength(0)
  })

  it('redeems a code once, for the login’s system, authid and challenge; audited both times', async () => {
    const { token, started } = await start()
    const { code } = await confirmForCode(token)
    expect(await f.engine.links.redeem(code)).toEqual({
      result: 'authenticated',
      accountId: f.acme.id,
      system: 'payroll',
      authid: 'alice',
      challengeId: started.challengeId,
    })
    expect(await f.engine.links.redeem(code)).toEqual({ result: 'security error', reason: 'invalid_code' })
    expect(await f.acme.redeem(code)).toEqual({ result: 'security error', reason: 'invalid_code' })
    expect(await auditOf('completion.redeemed')).toEqual([
      { outcome: 'success', reason: null },
      { outcome: 'security error', reason: 'invalid_code' },
      { outcome: 'security error', reason: 'invalid_code' },
    ])
  })

  it('expires 60 seconds after it was issued', async () => {
    const first = await confirmForCode((await start()).token)
    f.clock.advance(59_999)
    expect(await f.acme.redeem(first.code)).toMatchObject({ result: 'authenticated' })
    const second = await confirmForCode((await start()).token)
    f.clock.advance(60_000)
    expect(await f.acme.redeem(second.code)).toEqual({ result: 'security error', reason: 'invalid_code' })
    const [refused] = (await f.acme.audit.list({ type: 'completion.redeemed', outcome: 'security error' }))
      .events
    expect(refused?.details).toEqual({ why: 'expired' })
  })

  it('is bound to its challenge: a newer start for the same user voids it', async () => {
    const { token } = await start()
    const { code } = await confirmForCode(token)
    await start()
    expect(await f.acme.redeem(code)).toEqual({ result: 'security error', reason: 'invalid_code' })
  })

  it('cannot be redeemed through another account', async () => {
    const other = f.engine.account((await f.engine.accounts.create({ name: 'Other' })).id)
    const { code } = await confirmForCode((await start()).token)
    expect(await other.redeem(code)).toEqual({ result: 'security error', reason: 'invalid_code' })
    expect(await f.acme.redeem(code)).toMatchObject({ result: 'authenticated', authid: 'alice' })
  })

  it('refuses anything that is not a code without touching storage', async () => {
    for (const bad of ['', 'short', 'A'.repeat(33), `${'A'.repeat(31)}.`, 42 as unknown as string])
      expect(await f.acme.redeem(bad)).toEqual({ result: 'security error', reason: 'invalid_code' })
  })

  it('issues no code for a superseded login', async () => {
    const { token } = await start()
    await start()
    expect(await f.engine.links.confirm(token)).toEqual({ result: 'superseded' })
    expect(f.rows('completionCodes')).toHaveLength(0)
  })

  it('with number matching, issues a code only after the right match code', async () => {
    await f.acme.systems.update('payroll', { rules: [{ name: 'match', effect: { numberMatching: true } }] })
    const { token, started } = await start()
    const matchCode = (started as { matchCode: string }).matchCode
    const wrong = String((Number(matchCode) + 1) % 1000).padStart(3, '0')
    expect(await f.engine.links.confirm(token, { matchCode: wrong })).toMatchObject({ result: 'wrong_code' })
    expect(f.rows('completionCodes')).toHaveLength(0)
    const { code } = await confirmForCode(token, matchCode)
    expect(await f.acme.redeem(code)).toMatchObject({ result: 'authenticated' })
  })

  it('issues no code while a layer remains (the memorized PIN is entered where the login started)', async () => {
    await f.acme.users.setPin('alice', '582914')
    await f.acme.systems.update('payroll', {
      rules: [{ name: 'pin too', effect: { requireMemorizedPin: true } }],
    })
    const { token } = await start()
    const confirmed = await f.engine.links.confirm(token)
    expect(confirmed).toMatchObject({ result: 'confirmed' })
    expect(confirmed).not.toHaveProperty('completionUrl')
    expect(f.rows('completionCodes')).toHaveLength(0)
  })

  it('leaves the original device’s poll working: check still answers authenticated once', async () => {
    const { token, started } = await start()
    const { code } = await confirmForCode(token)
    expect(await f.acme.redeem(code)).toMatchObject({ result: 'authenticated' })
    const poll = { system: 'payroll', authid: 'alice', challengeId: started.challengeId as string }
    expect(await f.acme.check(poll)).toMatchObject({ result: 'authenticated' })
    expect(await f.acme.check(poll)).toMatchObject({ result: 'security error' })
  })

  it('authenticates the login when redeemed: the sweep never expires it, and nobody need poll', async () => {
    const expired: unknown[] = []
    f.engine.events.on('challenge.expired', (e) => expired.push(e))
    const { token, started } = await start()
    await f.acme.redeem((await confirmForCode(token)).code)
    f.clock.advance(11 * 60_000)
    await f.engine.runDue()
    expect(expired).toEqual([])
    expect(f.rows('challenges')).toMatchObject([
      { id: started.challengeId, status: 'authenticated', outcomeReported: false },
    ])
  })

  it('emits completion.issued and completion.redeemed without the code', async () => {
    const seen: unknown[] = []
    f.engine.events.on('completion.issued', (e) => seen.push(e))
    f.engine.events.on('completion.redeemed', (e) => seen.push(e))
    const { code } = await confirmForCode((await start()).token)
    await f.acme.redeem(code)
    expect(seen).toMatchObject([
      { system: 'payroll', authid: 'alice', returnUrl: RETURN },
      { system: 'payroll', authid: 'alice' },
    ])
    expect(JSON.stringify(seen)).not.toContain(code)
  })

  it('runDue deletes expired codes', async () => {
    await confirmForCode((await start()).token)
    f.clock.advance(60_000)
    await f.engine.runDue()
    expect(f.rows('completionCodes')).toHaveLength(0)
  })
})
