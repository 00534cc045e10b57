// S8: what a database dump alone gives someone who searches PIN candidates. One-time PINs are an HMAC
// under a key derived from the engine secret, salted per challenge; memorized PINs are argon2id over a
// peppered PIN, and those hashed before the pepper are hashed again on their next correct use.
import { createHmac, hkdfSync } from 'node:crypto'
import argon2 from 'argon2'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { oneTimePinHasher, pepperedPinHasher } from '../ports/pin-hashing.js'
import { type EngineFixture, engineFixture, TEST_SECRET } from '../testing/engine-fixture.js'
import { cheapHasher } from '../testing/index.js'

// Written out here, from the S8 text, rather than taken from the code under test.
const key = (purpose: string) => Buffer.from(hkdfSync('sha256', TEST_SECRET, 'flexsecure', purpose, 32))
const oneTimeMac = (salt: Buffer, pin: string) =>
  createHmac('sha256', key('one-time-pin-v1')).update(salt).update(pin).digest('base64url')
const pepper = (pin: string) =>
  createHmac('sha256', key('memorized-pin-pepper-v1')).update(pin).digest('base64url')

/** Every test a dump alone allows: argon2 over the PIN, and digests keyed only by what the row holds. */
async function testableWithoutSecret(hash: string, pin: string): Promise<boolean> {
  const tries: boolean[] = []
  const inner = hash.replace(/^[a-z0-9-]+\$(?=\$)/, '')
  tries.push(await argon2.verify(inner, pin).catch(() => false))
  const parts = hash.split('$')
  for (const part of parts)
    for (const encoding of ['base64url', 'hex'] as const) {
      const salt = Buffer.from(part, encoding)
      const candidates = [
        createHmac('sha256', salt).update(pin).digest(encoding),
        createHmac('sha256', '').update(salt).update(pin).digest(encoding),
        createHmac('sha256', pin).update(salt).digest(encoding),
      ]
      tries.push(candidates.some((digest) => parts.includes(digest)))
    }
  return tries.some(Boolean)
}

let f: EngineFixture
afterEach(async () => {
  await f.close()
})

describe('one-time PINs at rest (S8)', () => {
  beforeEach(async () => {
    f = await engineFixture()
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
  })

  const issue = async () => {
    expect((await f.acme.start({ system: 'payroll', authid: 'alice' })).result).toBe('success')
    const pin = f.notifier.last().pin as string
    const [row] = f.rows('challenges').filter((r) => r.status === 'pending')
    return { pin, hash: String(row?.pinHash) }
  }

  it('stores an HMAC-SHA-256 of a fresh salt and the PIN under a key derived from the secret', async () => {
    const first = await issue()
    const [, salt, mac] = first.hash.split('$')
    expect(first.hash.startsWith('hmac-sha256$')).toBe(true)
    expect(mac).toBe(oneTimeMac(Buffer.from(salt as string, 'base64url'), first.pin))
    expect(Buffer.from(salt as string, 'base64url')).toHaveLength(16)
    // Salted per challenge: the same PIN never gives the same hash twice.
    const second = await issue()
    expect(second.hash.split('$')[1]).not.toBe(salt)
  })

  it('cannot be tested against the right PIN from the dump alone', async () => {
    const { pin, hash } = await issue()
    expect(await testableWithoutSecret(hash, pin)).toBe(false)
    // With the secret it can: the login works.
    expect(await f.acme.check({ system: 'payroll', authid: 'alice', pin })).toMatchObject({
      result: 'authenticated',
    })
  })

  it("hashes with argon2id under pinHashing: 'argon2id', and verifies hashes made either way", async () => {
    const argonEngine = await engineFixture({ pinHashing: 'argon2id' })
    try {
      await argonEngine.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
      await argonEngine.acme.start({ system: 'payroll', authid: 'alice' })
      const [row] = argonEngine.rows('challenges')
      expect(String(row?.pinHash)).toMatch(/^\$argon2id\$/)
      const pin = argonEngine.notifier.last().pin as string
      expect(await argonEngine.acme.check({ system: 'payroll', authid: 'alice', pin })).toMatchObject({
        result: 'authenticated',
      })
    } finally {
      await argonEngine.close()
    }
    // A challenge issued before the setting changed still verifies, either way round.
    const hmac = oneTimePinHasher(TEST_SECRET, 'hmac', cheapHasher())
    const slow = oneTimePinHasher(TEST_SECRET, 'argon2id', cheapHasher())
    for (const [maker, checker] of [
      [hmac, slow],
      [slow, hmac],
    ] as const) {
      const hash = await maker.hash('04817263')
      expect(await checker.verify(hash, '04817263')).toBe(true)
      expect(await checker.verify(hash, '04817264')).toBe(false)
    }
  })
})

describe('checking a one-time PIN (S8, S16)', () => {
  type Move = 'reserveAttempt' | 'transitionChallenge' | 'settlePinAttempt' | 'recordFailure'
  /** The storage calls that take attempts, move challenges and count failures, in order. */
  const recordMoves = () => {
    const calls: Move[] = []
    const stores = [
      [f.storage.logins, ['reserveAttempt', 'transitionChallenge', 'settlePinAttempt']],
      [f.storage.users, ['recordFailure']],
    ] as const
    for (const [store, names] of stores) {
      const methods = store as unknown as Record<Move, (...args: unknown[]) => Promise<unknown>>
      for (const name of names) {
        const original = methods[name]
        methods[name] = (...args) => {
          calls.push(name)
          return original.apply(store, args)
        }
      }
    }
    return calls
  }
  const check = (pin: string) => f.acme.check({ system: 'payroll', authid: 'alice', pin })
  const started = async () => {
    expect((await f.acme.start({ system: 'payroll', authid: 'alice' })).result).toBe('success')
    return f.notifier.last().pin as string
  }
  const wrong = (pin: string) => pin.replace(/\d$/, (d) => String((Number(d) + 1) % 10))

  it('verifies a keyed PIN first, then settles it in one write: the attempt and the failure, or the attempt and the move', async () => {
    f = await engineFixture()
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    const pin = await started()
    const calls = recordMoves()
    expect(await check(wrong(pin))).toMatchObject({ result: 'security error', reason: 'wrong_pin' })
    // One write for a wrong PIN, as for a guess at a decoy (S20): the user's failure is counted with it.
    expect(calls).toEqual(['settlePinAttempt'])
    expect(f.rows('users')).toMatchObject([{ failureStreak: 1 }])
    expect(await check(pin)).toMatchObject({ result: 'authenticated' })
    expect(calls).toEqual(['settlePinAttempt', 'settlePinAttempt'])
    expect(f.rows('users')).toMatchObject([{ failureStreak: 0 }])
    const [row] = f.rows('challenges')
    expect(row).toMatchObject({ status: 'authenticated', attempts: 2, outcomeReported: true })
  })

  it('answers the right keyed PIN as a wrong one once its attempts are spent, the challenge still pending', async () => {
    f = await engineFixture()
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    const pin = await started()
    // The budget spent by guesses whose own answers are still on their way, the challenge not burned yet: a
    // state left by attempts reserved first (a store without settlePinAttempt), which this one must answer too.
    const [row] = f.rows('challenges')
    for (let i = 0; i < 5; i++) await f.storage.logins.reserveAttempt(String(row?.id), f.clock.now())
    const streak = () => f.rows('users').find((u) => u.authid === 'alice')?.failureStreak
    const streakBefore = streak()
    const audited = () =>
      f.rows('auditEvents').map(({ type, outcome, reason, details }) => ({ type, outcome, reason, details }))
    const before = audited().length
    const right = await check(pin)
    const afterRight = audited().slice(before)
    const wrongAnswer = await check(wrong(pin))
    const afterWrong = audited().slice(before + afterRight.length)
    expect(right).toEqual({ result: 'security error', reason: 'attempts_exhausted' })
    expect(wrongAnswer).toEqual(right)
    expect(afterRight).toEqual(afterWrong)
    expect(afterRight).toEqual([
      {
        type: 'challenge.checked',
        outcome: 'security error',
        reason: 'attempts_exhausted',
        details: { attempts: 5 },
      },
    ])
    expect(streak()).toBe(streakBefore)
    expect(f.rows('challenges')[0]).toMatchObject({ status: 'pending', attempts: 5 })
  })

  it('burns the challenge at the fifth wrong keyed PIN; the right one is then refused', async () => {
    f = await engineFixture()
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    const pin = await started()
    for (let i = 0; i < 4; i++) expect((await check(wrong(pin))).result).toBe('security error')
    expect(await check(wrong(pin))).toMatchObject({ reason: 'attempts_exhausted' })
    expect(await check(pin)).toMatchObject({ result: 'security error' })
    expect(f.rows('challenges')[0]).toMatchObject({ status: 'failed', attempts: 5 })
  })

  it("reserves the attempt before verifying an argon2id PIN (pinHashing: 'argon2id')", async () => {
    f = await engineFixture({ pinHashing: 'argon2id' })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    const pin = await started()
    const calls = recordMoves()
    expect(await check(pin)).toMatchObject({ result: 'authenticated' })
    expect(calls).toEqual(['reserveAttempt', 'transitionChallenge'])
  })
})

describe('memorized PINs at rest (S8)', () => {
  const PIN = '582914'
  beforeEach(async () => {
    f = await engineFixture()
    await f.acme.systems.update('payroll', {
      sensitivity: 'high',
      rules: [
        { name: 'always', when: { sensitivityAtLeast: 'high' }, effect: { requireMemorizedPin: true } },
      ],
    })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless', channel: 'email' }])
  })
  const stored = () => String(f.rows('users').find((u) => u.authid === 'alice')?.memorizedPinHash)
  const login = async (pin: string) => {
    await f.acme.start({ system: 'payroll', authid: 'alice' })
    await f.engine.links.confirm(f.notifier.last().token as string)
    return f.acme.check({ system: 'payroll', authid: 'alice', pin })
  }

  it('hashes the peppered PIN with argon2id, so the dump alone cannot test the right PIN', async () => {
    await f.acme.users.setPin('alice', PIN)
    const hash = stored()
    expect(await testableWithoutSecret(hash, PIN)).toBe(false)
    // What is stored is argon2id over the HMAC of the PIN under the derived key.
    expect(hash).toMatch(/^peppered1\$\$argon2id\$/)
    expect(await argon2.verify(hash.slice('peppered1$'.length), pepper(PIN))).toBe(true)
    expect(await login(PIN)).toMatchObject({ result: 'authenticated' })
  })

  it('verifies a PIN hashed before the pepper, then stores it peppered; a wrong one changes nothing', async () => {
    const user = f.rows('users').find((u) => u.authid === 'alice')
    const legacy = await cheapHasher().hash(PIN)
    await f.storage.users.setMemorizedPin(String(user?.id), legacy, 0, [])
    expect(await login('604817')).toMatchObject({ result: 'security error', reason: 'wrong_pin' })
    expect(stored()).toBe(legacy)
    expect(await login(PIN)).toMatchObject({ result: 'authenticated' })
    const hash = stored()
    expect(hash).not.toBe(legacy)
    expect(await argon2.verify(hash.slice('peppered1$'.length), pepper(PIN))).toBe(true)
    const types = (await f.acme.audit.list()).events.map((e) => e.type)
    expect(types).toContain('user.pin.rehashed')
    // And the peppered hash works from then on.
    expect(await login(PIN)).toMatchObject({ result: 'authenticated' })
  })
})

describe('PIN hashes across a secret rotation (S33)', () => {
  const OLD = 'the-old-secret-of-at-least-32-characters'
  const NEW = 'the-new-secret-of-at-least-32-characters'

  it('verifies one-time and memorized PINs hashed under an older secret of the keyring, and hashes new ones under the first', async () => {
    const oldOneTime = await oneTimePinHasher(OLD, 'hmac', cheapHasher()).hash('12345678')
    const oldMemorized = await pepperedPinHasher(OLD, cheapHasher()).hash('2468')
    const oneTime = oneTimePinHasher([NEW, OLD], 'hmac', cheapHasher())
    const memorized = pepperedPinHasher([NEW, OLD], cheapHasher())
    expect(await oneTime.verify(oldOneTime, '12345678')).toBe(true)
    expect(await oneTime.verify(oldOneTime, '87654321')).toBe(false)
    expect(await memorized.verify(oldMemorized, '2468')).toBe(true)
    expect(await memorized.verify(oldMemorized, '1357')).toBe(false)
    // New hashes need the new secret: the old one alone no longer verifies them.
    expect(
      await oneTimePinHasher(OLD, 'hmac', cheapHasher()).verify(await oneTime.hash('1111'), '1111'),
    ).toBe(false)
    expect(await pepperedPinHasher(OLD, cheapHasher()).verify(await memorized.hash('2468'), '2468')).toBe(
      false,
    )
  })
})
