import { afterEach, describe, expect, it } from 'vitest'
import { DeliveryError } from '../domain/errors.js'
import type { Message, Notifier } from '../ports/notifier.js'
import { captureNotifier } from '../testing/capture-notifier.js'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'
import { DEFAULT_OUTBOX, retryDelay } from './outbox.js'

// What start and check say about a message is what happened to it, and a PIN's
// retries last as long as the PIN does, not a fifth of it.

const login = { system: 'payroll', authid: 'alice' }
const SECOND = 1000

/** Fails every email (`kind`), delivers SMS; records when each attempt was made. */
function emailDown(clock: () => number, kind: 'temporary' | 'permanent') {
  const inner = captureNotifier()
  const attempts: { at: number; message: Message }[] = []
  const notifier: Notifier = {
    async send(message) {
      attempts.push({ at: clock(), message })
      if (message.channel === 'email') throw new DeliveryError(kind, `${kind === 'temporary' ? 451 : 550} no`)
      return inner.send(message)
    },
  }
  return { notifier, attempts, delivered: inner }
}

let f: EngineFixture
afterEach(async () => {
  await f.close()
})

async function fixtureWith(kind: 'temporary' | 'permanent', outbox = {}) {
  let now = () => 0
  const down = emailDown(() => now(), kind)
  f = await engineFixture({ notifier: down.notifier, outbox })
  now = () => f.clock.now()
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
  return down
}

describe('the channel that carries the secret', () => {
  it('start and check name SMS once the email was refused for good and the PIN went by SMS', async () => {
    const down = await fixtureWith('permanent')
    expect(await f.acme.start(login)).toMatchObject({ channel: 'sms', delivery: 'sent' })
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending', channel: 'sms', delivery: 'sent' })
    expect(down.delivered.last()).toMatchObject({ channel: 'sms' })
  })

  it('check names SMS after the outbox gave the email up on a later retry', async () => {
    const down = await fixtureWith('temporary', { maxAttempts: 2, retryWindowPercent: 0 })
    expect(await f.acme.start(login)).toMatchObject({ channel: 'email', delivery: 'failed' })
    expect(await f.acme.check(login)).toMatchObject({ channel: 'email', delivery: 'failed' })
    f.clock.advance(10 * SECOND)
    await f.engine.runDue()
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending', channel: 'sms', delivery: 'sent' })
    const pin = down.delivered.last().pin as string
    expect(await f.acme.check({ ...login, pin })).toMatchObject({ result: 'authenticated' })
  })
})

describe('retries spread over the challenge’s lifetime', () => {
  it('spreads a 5-minute PIN’s 6 attempts over 2 to 4 minutes instead of one', async () => {
    const down = await fixtureWith('temporary')
    await f.acme.users.update('alice', { phone: null })
    await f.acme.start(login)
    for (let t = 0; t < 300; t++) {
      f.clock.advance(SECOND)
      await f.engine.deliverDue()
    }
    const times = down.attempts.map((a) => a.at - (down.attempts[0]?.at ?? 0))
    expect(times).toHaveLength(6)
    // Each wait is within [half, all] of doubling from 240 s / 31 (7.74 s), capped at 120 s: the
    // last attempt falls between 118 s and 240 s. Before, all six were over by 62 s.
    expect(times.at(-1)).toBeGreaterThanOrEqual(118 * SECOND)
    expect(times.at(-1)).toBeLessThanOrEqual(240 * SECOND)
    expect(f.rows('deliveries')[0]).toMatchObject({ status: 'abandoned', payload: null })
  })

  it('sizes the first retry from the lifetime and the window, never below the base', () => {
    // 80 % of 300 s over 2^5 - 1 doublings: 7,741 ms, jittered within its upper half.
    const first = Array.from({ length: 200 }, () => retryDelay(1, DEFAULT_OUTBOX, 300_000))
    expect(Math.min(...first)).toBeGreaterThanOrEqual(3870)
    expect(Math.max(...first)).toBeLessThanOrEqual(7741)
    // A 10-second lifetime would give 258 ms: the base (2 s) holds.
    const short = Array.from({ length: 200 }, () => retryDelay(1, DEFAULT_OUTBOX, 10_000))
    expect(Math.min(...short)).toBeGreaterThanOrEqual(1000)
    expect(Math.max(...short)).toBeLessThanOrEqual(2000)
  })
})
