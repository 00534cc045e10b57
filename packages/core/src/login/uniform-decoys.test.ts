import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { PinHasher } from '../ports/pin-hasher.js'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'
import { cheapHasher } from '../testing/index.js'

// S20 with S12: in uniform mode a refused start answers like a real one (a decoy challenge id, and a
// decoy match code where the system matches numbers), a check of that decoy answers like a real
// unconfirmed challenge until it expires, and real starts keep number matching.

let f: EngineFixture
let hashes = 0
let verifies = 0
const counting = (): PinHasher => {
  const inner = cheapHasher()
  return {
    hash: (pin) => {
      hashes++
      return inner.hash(pin)
    },
    verify: (hash, pin) => {
      verifies++
      return inner.verify(hash, pin)
    },
  }
}
const alice = { system: 'payroll', authid: 'alice' }

beforeEach(async () => {
  hashes = 0
  verifies = 0
  // One-time PINs through the counted hasher (argon2id mode), so every hash a start costs is seen.
  f = await engineFixture({ hasher: counting(), pinHashing: 'argon2id' })
  await f.acme.settings.update({
    uniformResponses: true,
    sendLimits: { perUserPerHour: 10_000, perDestinationPerHour: 10_000 },
  })
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
})
afterEach(async () => {
  await f.close()
})

const keysOf = (answer: object) => Object.keys(answer).sort().join()
const idOf = (answer: object) => (answer as { challengeId: string }).challengeId
/** Counts the storage calls a check may write with; returns the count so far. */
const spyOnWrites = () => {
  const { logins, users, audit } = f.storage
  const spies = [
    vi.spyOn(audit, 'appendAudit'),
    vi.spyOn(logins, 'transitionChallenge'),
    vi.spyOn(logins, 'reserveAttempt'),
    ...(logins.settlePinAttempt ? [vi.spyOn(logins as Required<typeof logins>, 'settlePinAttempt')] : []),
    vi.spyOn(users, 'recordFailure'),
  ]
  return () => spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0)
}

describe('uniform responses mask every refusal of a start (S20)', () => {
  it('answers disabled, locked and unreachable users, and a disabled method, like a real start, sending nothing', async () => {
    const real = await f.acme.start(alice)
    await f.acme.users.create({ authid: 'dora', email: 'dora@example.com' })
    await f.acme.users.assign('dora', [{ system: 'payroll', method: 'passwordless' }])
    await f.acme.users.update('dora', { status: 'disabled' })
    await f.acme.users.create({ authid: 'lars', email: 'lars@example.com' })
    await f.acme.users.assign('lars', [{ system: 'payroll', method: 'passwordless' }])
    f.tamper('users', (user) => (user.authid === 'lars' ? { ...user, status: 'locked' } : user))
    // Reachable only by SMS, which the system's policy then stops allowing.
    await f.acme.users.create({ authid: 'una', phone: '+14155550100' })
    await f.acme.users.assign('una', [{ system: 'payroll', method: 'passwordless' }])
    await f.acme.systems.update('payroll', { policies: { passwordless: { channels: ['email'] } } })
    const sent = f.notifier.messages.length
    const refused = [
      await f.acme.start({ system: 'payroll', authid: 'dora' }),
      await f.acme.start({ system: 'payroll', authid: 'lars' }),
      await f.acme.start({ system: 'payroll', authid: 'una' }),
    ]
    for (const answer of refused) {
      expect(answer).toMatchObject({ result: 'success', method: 'passwordless', delivery: 'queued' })
      expect(keysOf(answer)).toBe(keysOf(real))
    }
    await new Promise((resolve) => setImmediate(resolve))
    expect(f.notifier.messages.length).toBe(sent)
    const truth = (await f.acme.audit.list({ outcome: 'security error' })).events
    expect(truth.map((e) => [e.authid, e.reason, e.details?.answered])).toEqual([
      ['dora', 'user_disabled', 'success'],
      ['lars', 'locked', 'success'],
      ['una', 'method_not_enabled', 'success'],
    ])
  })

  it('costs a refused start the one hash a real start costs, no more', async () => {
    await f.acme.start(alice)
    expect(hashes).toBe(1)
    await f.acme.start({ system: 'payroll', authid: 'nobody' })
    expect(hashes).toBe(2)
    await f.acme.settings.update({ sendLimits: { perUserPerHour: 1 } })
    f.clock.advance(3_600_000)
    await f.acme.start(alice)
    // Refused by the send limit after its hash: still one.
    expect(await f.acme.start(alice)).toMatchObject({ result: 'success', delivery: 'queued' })
    expect(hashes).toBe(4)
  })
})

describe('number matching in uniform mode (S12)', () => {
  beforeEach(async () => {
    await f.acme.systems.update('payroll', {
      rules: [{ name: 'office', when: { ipIn: ['10.0.0.0/8'] }, effect: { numberMatching: true } }],
    })
  })

  it('gives every start on a matching system a code, real or decoy, and the link confirms only with it', async () => {
    // The rule does not match this request; in uniform mode the system still matches numbers, so that
    // the answer's shape does not depend on who the user is.
    const real = await f.acme.start({ ...alice, context: { ip: '203.0.113.9' } })
    const decoy = await f.acme.start({ system: 'payroll', authid: 'nobody' })
    expect(real).toMatchObject({ matchCode: expect.stringMatching(/^\d{3}$/) })
    expect(decoy).toMatchObject({ matchCode: expect.stringMatching(/^\d{3}$/) })
    expect(keysOf(decoy)).toBe(keysOf(real))
    const token = f.notifier.last().token as string
    expect(await f.engine.links.confirm(token)).toEqual({ result: 'wrong_code', final: false })
    const code = (real as { matchCode: string }).matchCode
    expect(await f.engine.links.confirm(token, { matchCode: code })).toMatchObject({ result: 'confirmed' })
    expect(await f.acme.check({ ...alice, challengeId: idOf(real) })).toMatchObject({
      result: 'authenticated',
    })
  })
})

describe('a check of a decoy (S20)', () => {
  it('answers pending like a real unconfirmed link, expired once at its expiry, then nothing pending', async () => {
    const real = await f.acme.start(alice)
    const decoy = await f.acme.start({ system: 'payroll', authid: 'nobody' })
    const nobody = { system: 'payroll', authid: 'nobody', challengeId: idOf(decoy) }
    const pending = await f.acme.check(nobody)
    expect(pending).toEqual({
      result: 'pending',
      challengeId: idOf(decoy),
      method: 'passwordless',
      channel: 'email',
      delivery: 'sent',
      next: 'passwordless',
    })
    expect(keysOf(pending)).toBe(keysOf(await f.acme.check({ ...alice, challengeId: idOf(real) })))
    expect(await f.acme.check({ ...nobody, pin: '12345678' })).toEqual({
      result: 'security error',
      reason: 'wrong_method',
    })
    // Bound to the names it was issued for.
    expect(await f.acme.check({ ...nobody, authid: 'nobody2' })).toEqual({
      result: 'security error',
      reason: 'no_pending_challenge',
    })
    const expiresAt = (decoy as { expiresAt: Date }).expiresAt.getTime()
    f.clock.set(expiresAt - 1)
    expect(await f.acme.check(nobody)).toMatchObject({ result: 'pending' })
    f.clock.set(expiresAt)
    expect(await f.acme.check(nobody)).toEqual({ result: 'expired' })
    expect(await f.acme.check(nobody)).toEqual({ result: 'security error', reason: 'no_pending_challenge' })
  })

  it('counts PIN guesses on a PIN decoy like a real challenge: wrong, then exhausted', async () => {
    await f.acme.systems.update('payroll', {
      policies: { passwordless: { enabled: false }, pin: { enabled: true, attempts: 3 } },
    })
    const decoy = await f.acme.start({ system: 'payroll', authid: 'nobody' })
    expect(decoy).toMatchObject({ method: 'pin', layers: ['pin'] })
    const guess = { system: 'payroll', authid: 'nobody', challengeId: idOf(decoy), pin: '00000000' }
    expect(await f.acme.check(guess)).toEqual({ result: 'security error', reason: 'wrong_pin' })
    expect(await f.acme.check(guess)).toEqual({ result: 'security error', reason: 'wrong_pin' })
    expect(await f.acme.check(guess)).toEqual({ result: 'security error', reason: 'attempts_exhausted' })
    expect(await f.acme.check(guess)).toEqual({ result: 'security error', reason: 'no_pending_challenge' })
  })

  it('costs each answer of a decoy the hashes and the writes of a real challenge’s, but one write of a wrong PIN under argon2id', async () => {
    await f.acme.systems.create({ name: 'pins', policies: { pin: { enabled: true, attempts: 3 } } })
    await f.acme.users.create({ authid: 'bob', email: 'bob@example.com' })
    await f.acme.users.assign('bob', [{ system: 'pins', method: 'pin' }])
    const writes = spyOnWrites()
    /** One check's answer, the PIN hashes (or verifications) it ran and the writes it made. */
    const cost = async (input: Parameters<typeof f.acme.check>[0]) => {
      const hashed = hashes + verifies
      const before = writes()
      const { result, reason } = (await f.acme.check(input)) as { result: string; reason?: string }
      return [reason ?? result, hashes + verifies - hashed, writes() - before]
    }
    const bob = {
      system: 'pins',
      authid: 'bob',
      challengeId: idOf(await f.acme.start({ system: 'pins', authid: 'bob' })),
    }
    const pinDecoy = {
      system: 'pins',
      authid: 'nobody',
      challengeId: idOf(await f.acme.start({ system: 'pins', authid: 'nobody' })),
    }
    const link = { ...alice, challengeId: idOf(await f.acme.start(alice)) }
    const linkDecoy = {
      system: 'payroll',
      authid: 'nobody',
      challengeId: idOf(await f.acme.start({ system: 'payroll', authid: 'nobody' })),
    }
    const both = async (real: typeof bob, decoy: typeof bob, extra: { pin?: string | number } = {}) => ({
      real: await cost({ ...real, ...extra }),
      decoy: await cost({ ...decoy, ...extra }),
    })
    const wrong = { pin: '00000000' }
    // [answer, hashes, writes]: a real wrong PIN takes an attempt, then counts the user's failure; a decoy
    // audits it, one write. A guess not of the PIN's length (8) is hashed by neither; a number is padded.
    expect(await both(bob, pinDecoy, { pin: '1' })).toEqual({
      real: ['wrong_pin', 0, 2],
      decoy: ['wrong_pin', 0, 1],
    })
    expect(await both(bob, pinDecoy, { pin: 0 })).toEqual({
      real: ['wrong_pin', 1, 2],
      decoy: ['wrong_pin', 1, 1],
    })
    // The last attempt: a real one also burns the challenge.
    expect(await both(bob, pinDecoy, wrong)).toEqual({
      real: ['attempts_exhausted', 1, 3],
      decoy: ['attempts_exhausted', 1, 1],
    })
    expect(await both(bob, pinDecoy, wrong)).toEqual({
      real: ['no_pending_challenge', 0, 1],
      decoy: ['no_pending_challenge', 0, 1],
    })
    expect(await both(link, linkDecoy, wrong)).toEqual({
      real: ['wrong_method', 0, 1],
      decoy: ['wrong_method', 0, 1],
    })
    expect(await both(link, linkDecoy)).toEqual({ real: ['pending', 0, 0], decoy: ['pending', 0, 0] })
    f.clock.advance(60 * 60_000)
    expect(await both(link, linkDecoy)).toEqual({ real: ['expired', 0, 1], decoy: ['expired', 0, 1] })
    expect(await both(link, linkDecoy)).toEqual({
      real: ['no_pending_challenge', 0, 1],
      decoy: ['no_pending_challenge', 0, 1],
    })
    // The audit tells a decoy's check from a real one.
    const { events } = await f.acme.audit.list({ type: 'challenge.checked', outcome: 'expired' })
    expect(events.map((event) => event.details)).toContainEqual({ decoy: linkDecoy.challengeId })
  })

  it('costs a wrong PIN at a decoy the one write a real wrong PIN costs, the PIN kept as an HMAC', async () => {
    await f.close()
    f = await engineFixture()
    await f.acme.settings.update({ uniformResponses: true })
    await f.acme.systems.create({ name: 'pins', policies: { pin: { enabled: true, attempts: 2 } } })
    await f.acme.users.create({ authid: 'bob', email: 'bob@example.com' })
    await f.acme.users.assign('bob', [{ system: 'pins', method: 'pin' }])
    const writes = spyOnWrites()
    const wrote = async (input: Parameters<typeof f.acme.check>[0]) => {
      const before = writes()
      const { result, reason } = (await f.acme.check(input)) as { result: string; reason?: string }
      return [reason ?? result, writes() - before]
    }
    const real = { system: 'pins', authid: 'bob', pin: '00000000' }
    const decoy = { ...real, authid: 'nobody' }
    const challengeOf = async (input: typeof real) => ({
      ...input,
      challengeId: idOf(await f.acme.start({ system: input.system, authid: input.authid })),
    })
    const [bob, nobody] = [await challengeOf(real), await challengeOf(decoy)]
    // The real one takes its attempt and counts bob's failure in one write (settlePinAttempt); the last
    // attempt burns the challenge in that write too.
    for (const answer of ['wrong_pin', 'attempts_exhausted'])
      expect([await wrote(bob), await wrote(nobody)]).toEqual([
        [answer, 1],
        [answer, 1],
      ])
    expect(f.rows('users').find((user) => user.authid === 'bob')).toMatchObject({ failureStreak: 2 })
  })

  it('writes a decoy’s `expired` within the refusals’ budget, which an id it forgot could answer again', async () => {
    await f.close()
    f = await engineFixture({ throttle: { auditedRefusalsPerMinute: 1 } })
    await f.acme.settings.update({ uniformResponses: true })
    const decoy = await f.acme.start({ system: 'payroll', authid: 'nobody' })
    f.clock.set((decoy as { expiresAt: Date }).expiresAt.getTime())
    // The minute's one audited refusal: a check of a user who does not exist.
    expect(await f.acme.check({ system: 'payroll', authid: 'nobody' })).toMatchObject({
      result: 'security error',
    })
    const appended = vi.spyOn(f.storage.audit, 'appendAudit')
    expect(await f.acme.check({ system: 'payroll', authid: 'nobody', challengeId: idOf(decoy) })).toEqual({
      result: 'expired',
    })
    expect(appended).not.toHaveBeenCalled()
  })

  it('answers a check of an unknown, disabled or unassigned user as a real user with nothing pending', async () => {
    await f.acme.users.create({ authid: 'bob', email: 'bob@example.com' })
    const nothing = { result: 'security error', reason: 'no_pending_challenge' }
    expect(await f.acme.check(alice)).toEqual(nothing)
    expect(await f.acme.check({ system: 'payroll', authid: 'nobody' })).toEqual(nothing)
    expect(await f.acme.check({ system: 'payroll', authid: 'bob' })).toEqual(nothing)
    expect(await f.acme.check({ system: 'nope', authid: 'alice' })).toEqual(nothing)
    const truth = (await f.acme.audit.list({ type: 'challenge.checked' })).events
    expect(truth.map((e) => e.reason)).toEqual([
      'no_pending_challenge',
      'unknown_user',
      'not_assigned',
      'unknown_system',
    ])
  })
})
