import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DeliveryError, StorageError } from '../domain/errors.js'
import type { Message, Notifier } from '../ports/notifier.js'
import { captureNotifier } from '../testing/capture-notifier.js'
import { type EngineFixture, engineFixture, TEST_SECRET } from '../testing/engine-fixture.js'
import { DEFAULT_OUTBOX, payloadCipher, resolveOutbox, retryDelay } from './outbox.js'

const SECOND = 1000
const login = { system: 'payroll', authid: 'alice' }

/** A notifier that fails as scripted (one entry per send, then succeeds), capturing what it delivers. */
function scripted(failures: (Error | null)[]) {
  const inner = captureNotifier()
  const attempts: Message[] = []
  const notifier: Notifier = {
    async send(message) {
      attempts.push(message)
      const failure = failures.shift()
      if (failure) throw failure
      return inner.send(message)
    },
  }
  return { notifier, attempts, delivered: inner }
}

const temporary = () => new DeliveryError('temporary', '451 4.3.0 try again later')
const permanent = () => new DeliveryError('permanent', '550 5.1.1 mailbox unavailable')

let f: EngineFixture
afterEach(async () => {
  await f.close()
})

const deliveries = () =>
  f.rows('deliveries').map((d) => ({ channel: d.channel, status: d.status, attempts: d.attempts }))
const deliveryAudit = async () =>
  (await f.acme.audit.list({ type: 'delivery' })).events.map((e) => [e.outcome, e.details?.channel])

describe('retries', () => {
  let script: ReturnType<typeof scripted>
  beforeEach(async () => {
    script = scripted([temporary(), temporary()])
    // Backoff from the base alone: the spread over the lifetime has tests of its own.
    f = await engineFixture({ notifier: script.notifier, outbox: { retryWindowPercent: 0 } })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
  })

  it('retries a temporary failure with backoff until it is sent, telling check how it stands', async () => {
    expect(await f.acme.start(login)).toMatchObject({ result: 'success', delivery: 'failed' })
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending', delivery: 'failed' })
    // Not before its next attempt: the first retry waits 1–2 s.
    expect(await f.engine.deliverDue()).toEqual({ cancelled: 0, delivered: 0 })
    f.clock.advance(2 * SECOND)
    expect((await f.engine.runDue()).delivered).toBe(1)
    expect(script.delivered.messages).toHaveLength(0)
    f.clock.advance(4 * SECOND)
    expect((await f.engine.runDue()).delivered).toBe(1)
    expect(script.delivered.messages).toHaveLength(1)
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending', delivery: 'sent' })
    expect(await deliveryAudit()).toEqual([
      ['queued', 'email'],
      ['failed', 'email'],
      ['failed', 'email'],
      ['sent', 'email'],
    ])
    expect(deliveries()).toEqual([{ channel: 'email', status: 'sent', attempts: 3 }])
    // One message, one idempotency key across its attempts.
    expect(new Set(script.attempts.map((m) => m.idempotencyKey)).size).toBe(1)
    const pin = script.delivered.last().pin as string
    expect(await f.acme.check({ ...login, pin })).toMatchObject({ result: 'authenticated' })
  })

  it('abandons after the last attempt and says so', async () => {
    await f.close()
    script = scripted(Array.from({ length: 10 }, temporary))
    f = await engineFixture({ notifier: script.notifier, outbox: { maxAttempts: 3, retryWindowPercent: 0 } })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    await f.acme.users.update('alice', { phone: null })
    await f.acme.start(login)
    for (let i = 0; i < 5; i++) {
      f.clock.advance(10 * SECOND)
      await f.engine.runDue()
    }
    expect(script.attempts).toHaveLength(3)
    expect((await deliveryAudit()).map(([outcome]) => outcome)).toEqual([
      'queued',
      'failed',
      'failed',
      'abandoned',
    ])
    expect(f.rows('deliveries')[0]).toMatchObject({ status: 'abandoned', payload: null })
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending', delivery: 'failed' })
  })

  it('never retries past the challenge’s expiry', async () => {
    await f.close()
    script = scripted(Array.from({ length: 50 }, temporary))
    f = await engineFixture({ notifier: script.notifier, outbox: { maxAttempts: 50, baseDelayMs: 60_000 } })
    await f.acme.users.update('alice', { phone: null })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    await f.acme.start(login)
    for (let i = 0; i < 20; i++) {
      f.clock.advance(30 * SECOND)
      await f.engine.runDue()
    }
    const times = (await f.acme.audit.list({ type: 'delivery', outcome: 'failed' })).events.map(
      (e) => e.details?.nextAttemptAt as number,
    )
    const expiresAt = Number(f.rows('challenges')[0]?.expiresAt)
    expect(times.length).toBeGreaterThan(2)
    expect(times.every((t) => t < expiresAt)).toBe(true)
    // Given up when the next attempt would fall past expiry, or cancelled when the challenge expired.
    const [row] = f.rows('deliveries')
    expect(['abandoned', 'cancelled']).toContain(row?.status)
    // Every attempt but an abandoning one scheduled a retry, and none was made after expiry.
    expect(script.attempts.length).toBe(times.length + (row?.status === 'abandoned' ? 1 : 0))
    expect(row?.payload).toBeNull()
  })
})

describe('fallback', () => {
  it('falls back to the user’s phone when the email is refused for good, with the same PIN', async () => {
    const script = scripted([permanent()])
    f = await engineFixture({ notifier: script.notifier })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    // The answer names the channel that carries the PIN now, not the abandoned one.
    expect(await f.acme.start(login)).toMatchObject({ result: 'success', channel: 'sms', delivery: 'sent' })
    expect(await deliveryAudit()).toEqual([
      ['queued', 'email'],
      ['abandoned', 'email'],
      ['fallback', 'sms'],
      ['sent', 'sms'],
    ])
    const sms = script.delivered.last()
    expect(sms).toMatchObject({ channel: 'sms', to: '+14155552671' })
    expect(sms.idempotencyKey).not.toBe(script.attempts[0]?.idempotencyKey)
    expect(sms.pin).toBe(/\b(\d{8})\b/.exec(script.attempts[0]?.text ?? '')?.[1])
    expect(await f.acme.check({ ...login, pin: sms.pin as string })).toMatchObject({
      result: 'authenticated',
    })
  })

  it('does not fall back to a channel the policy does not list', async () => {
    f = await engineFixture({ notifier: scripted([permanent()]).notifier })
    await f.acme.systems.update('payroll', { policies: { pin: { channels: ['email'] } } })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    expect(await f.acme.start(login)).toMatchObject({ delivery: 'failed' })
    expect(deliveries()).toEqual([{ channel: 'email', status: 'abandoned', attempts: 1 }])
  })

  it('names no fallback the storage did not write', async () => {
    f = await engineFixture({ notifier: scripted([permanent()]).notifier })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    const finishDelivery = f.storage.outbox.finishDelivery.bind(f.storage.outbox)
    let failures = 1
    f.storage.outbox.finishDelivery = async (...args) => {
      if (failures-- > 0) throw new StorageError('finishDelivery failed: database is locked')
      return finishDelivery(...args)
    }
    // The abandon and its fallback were not written: the email is still claimed, no SMS exists.
    expect(await f.acme.start(login)).toMatchObject({ channel: 'email', delivery: 'failed' })
    expect(deliveries()).toEqual([{ channel: 'email', status: 'queued', attempts: 1 }])
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending', channel: 'email' })
  })
})

describe('cancellation and recovery', () => {
  it('cancels the retry of a superseded challenge: its message is never sent', async () => {
    const script = scripted([temporary()])
    f = await engineFixture({ notifier: script.notifier })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless', channel: 'email' }])
    await f.acme.start(login)
    await f.acme.start(login)
    f.clock.advance(60 * SECOND)
    expect(await f.engine.deliverDue()).toEqual({ cancelled: 1, delivered: 0 })
    expect(script.attempts).toHaveLength(2)
    expect(f.rows('deliveries').map((d) => [d.status, d.payload])).toEqual(
      expect.arrayContaining([
        ['cancelled', null],
        ['sent', null],
      ]),
    )
    const [cancelled] = (await f.acme.audit.list({ type: 'delivery', outcome: 'cancelled' })).events
    // S25: the event names the system and the user like every other.
    expect(cancelled).toMatchObject({ system: 'payroll', authid: 'alice', challengeId: expect.any(String) })
  })

  it('sends a message whose dispatcher died once its claim lapses, exactly once', async () => {
    // A provider that takes the message and never answers: the process "dies" mid-send.
    let sending: () => void = () => {}
    const called = new Promise<void>((resolve) => {
      sending = resolve
    })
    const hung: Notifier = {
      send: () => {
        sending()
        return new Promise(() => {})
      },
    }
    // Closing the fixture must not wait for the send that never ends.
    f = await engineFixture({ notifier: hung, outbox: { closeWaitMs: 0 } })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    void f.acme.start(login)
    await called
    expect(f.rows('deliveries')).toHaveLength(1)
    // A second engine on the same database, as after a restart.
    const { createEngine } = await import('../engine.js')
    const { cheapHasher } = await import('../testing/cheap-hasher.js')
    const revived = captureNotifier()
    const engine = createEngine({
      storage: f.storage,
      notifier: revived,
      clock: f.clock,
      secret: TEST_SECRET,
      links: { baseUrl: 'https://auth.example.com' },
      hasher: cheapHasher(),
    })
    expect(await engine.deliverDue()).toEqual({ cancelled: 0, delivered: 0 })
    f.clock.advance(DEFAULT_OUTBOX.leaseMs)
    expect(await engine.deliverDue()).toEqual({ cancelled: 0, delivered: 1 })
    expect(await engine.deliverDue()).toEqual({ cancelled: 0, delivered: 0 })
    expect(revived.messages).toHaveLength(1)
    expect(await f.acme.check({ ...login, pin: revived.last().pin as string })).toMatchObject({
      result: 'authenticated',
    })
  })
})

describe('an attempt that could not be prepared', () => {
  it('tries a retry again when this instance cannot open its payload (another rotated the secret, S33)', async () => {
    const first = scripted([temporary()])
    f = await engineFixture({ notifier: first.notifier })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    expect(await f.acme.start(login)).toMatchObject({ delivery: 'failed' })
    const { createEngine } = await import('../engine.js')
    const { cheapHasher } = await import('../testing/cheap-hasher.js')
    const rotated = captureNotifier()
    // An instance on the new secret, the old one still running (docs/operations.md: rotate, then restart).
    const next = createEngine({
      storage: f.sharedStorage(),
      notifier: rotated,
      clock: f.clock,
      secret: 'n'.repeat(40),
      previousSecrets: [TEST_SECRET],
      links: { baseUrl: 'https://auth.example.com' },
      hasher: cheapHasher(),
      logger: { warn: () => {}, error: () => {} },
    })
    expect(await next.rotateSecret()).toMatchObject({ resealed: 1 })
    // The old instance claims the re-sealed retry and cannot open it: a failed attempt, not the end.
    f.clock.advance(10 * SECOND)
    expect(await f.engine.deliverDue()).toEqual({ cancelled: 0, delivered: 1 })
    expect(deliveries()).toEqual([{ channel: 'email', status: 'failed', attempts: 2 }])
    expect(f.warnings).toContain('a delivery could not be prepared; it is tried again')
    // The new instance sends it at the next attempt.
    f.clock.advance(60 * SECOND)
    expect(await next.deliverDue()).toEqual({ cancelled: 0, delivered: 1 })
    expect(rotated.messages).toHaveLength(1)
    expect(await f.acme.check({ ...login, pin: rotated.last().pin as string })).toMatchObject({
      result: 'authenticated',
    })
    await next.close()
  })

  it('tries a retry again after a storage failure while composing it', async () => {
    const script = scripted([temporary()])
    f = await engineFixture({ notifier: script.notifier })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    expect(await f.acme.start(login)).toMatchObject({ delivery: 'failed' })
    const resolveLogin = f.storage.logins.resolveLogin.bind(f.storage.logins)
    let failures = 1
    f.storage.logins.resolveLogin = async (...args) => {
      if (failures-- > 0) throw new StorageError('resolveLogin failed: connection reset')
      return resolveLogin(...args)
    }
    f.clock.advance(10 * SECOND)
    await f.engine.deliverDue()
    expect(deliveries()).toEqual([{ channel: 'email', status: 'failed', attempts: 2 }])
    f.clock.advance(60 * SECOND)
    expect(await f.engine.deliverDue()).toEqual({ cancelled: 0, delivered: 1 })
    expect(script.delivered.messages).toHaveLength(1)
    expect(deliveries()).toEqual([{ channel: 'email', status: 'sent', attempts: 3 }])
  })

  it('fails an attempt alike when the notifier rejects with no error at all', async () => {
    let calls = 0
    const inner = captureNotifier()
    const careless: Notifier = {
      send(message) {
        calls += 1
        return calls === 1 ? Promise.reject(null) : inner.send(message)
      },
    }
    f = await engineFixture({ notifier: careless })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    expect(await f.acme.start(login)).toMatchObject({ result: 'success', delivery: 'failed' })
    f.clock.advance(10 * SECOND)
    expect(await f.engine.deliverDue()).toEqual({ cancelled: 0, delivered: 1 })
    expect(inner.messages).toHaveLength(1)
  })
})

describe('a retry whose challenge ended after its claim', () => {
  it('is not sent when another start superseded the challenge between the claim and the send', async () => {
    const script = scripted([temporary()])
    f = await engineFixture({ notifier: script.notifier })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    expect(await f.acme.start(login)).toMatchObject({ delivery: 'failed' })
    const claimDeliveries = f.storage.outbox.claimDeliveries.bind(f.storage.outbox)
    let superseded = false
    f.storage.outbox.claimDeliveries = async (...args) => {
      const claimed = await claimDeliveries(...args)
      if (claimed.length > 0 && !superseded) {
        superseded = true
        // The user asks again right after the dispatcher claimed the old message's retry.
        expect(await f.acme.start(login)).toMatchObject({ delivery: 'sent' })
      }
      return claimed
    }
    f.clock.advance(10 * SECOND)
    // Claimed, but not attempted.
    expect(await f.engine.deliverDue()).toEqual({ cancelled: 0, delivered: 0 })
    // Only the newer login's PIN went out; the superseded one's retry did not.
    expect(script.delivered.messages).toHaveLength(1)
    expect(await f.acme.check({ ...login, pin: script.delivered.last().pin as string })).toMatchObject({
      result: 'authenticated',
    })
  })
})

describe('a notifier that never answers', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('counts the attempt failed after sendTimeoutMs and sends the retry, so one hung call stalls nothing', async () => {
    // Only the timeout's timers are faked; the engine's own time is its injected clock.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    let calls = 0
    const inner = captureNotifier()
    const hangsOnce: Notifier = {
      send(message) {
        calls += 1
        return calls === 1 ? new Promise(() => {}) : inner.send(message)
      },
    }
    f = await engineFixture({ notifier: hangsOnce, outbox: { sendTimeoutMs: 20_000 } })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    const started = f.acme.start(login)
    await vi.advanceTimersByTimeAsync(20_000)
    expect(await started).toMatchObject({ result: 'success', delivery: 'failed' })
    expect(deliveries()).toEqual([{ channel: 'email', status: 'failed', attempts: 1 }])
    expect(f.warnings).toContain('delivery failed')
    f.clock.advance(10 * SECOND)
    expect(await f.engine.deliverDue()).toEqual({ cancelled: 0, delivered: 1 })
    expect(inner.messages).toHaveLength(1)
  })

  it('refuses a send timeout that would outlast the claim', () => {
    expect(() => resolveOutbox({ leaseMs: 10_000, sendTimeoutMs: 10_000 })).toThrow(
      /less than outbox.leaseMs/,
    )
    expect(resolveOutbox({ leaseMs: 10_000 }).sendTimeoutMs).toBe(5_000)
    expect(resolveOutbox(undefined).sendTimeoutMs).toBe(30_000)
  })
})

describe('secrets at rest and in logs', () => {
  it('seals the payload with AES-256-GCM bound to the delivery, and keeps no secret once final', async () => {
    const script = scripted([temporary(), temporary(), temporary()])
    f = await engineFixture({ notifier: script.notifier })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    await f.acme.start(login)
    const [row] = f.rows('deliveries')
    const pin = /\b(\d{8})\b/.exec(script.attempts[0]?.text ?? '')?.[1] as string
    expect(String(row?.payload)).not.toContain(pin)
    expect(String(row?.payload)).not.toContain('alice@example.com')
    const cipher = payloadCipher(TEST_SECRET)
    expect(cipher.open(String(row?.id), String(row?.payload)).secret).toBe(pin)
    expect(() => cipher.open('another-delivery', String(row?.payload))).toThrow()
    expect(() => payloadCipher('x'.repeat(40)).open(String(row?.id), String(row?.payload))).toThrow()
    for (let i = 0; i < 6; i++) {
      f.clock.advance(60 * SECOND)
      await f.engine.runDue()
    }
    const everything = JSON.stringify([
      f.rows('deliveries'),
      f.rows('challenges'),
      f.rows('auditEvents'),
      f.rows('rateLimits'),
    ])
    expect(everything).not.toContain(pin)
    expect(everything).not.toContain('alice@example.com')
    expect(f.logs.length).toBeGreaterThan(0)
    for (const line of f.logs) {
      expect(line).not.toContain(pin)
      expect(line).not.toContain('alice@example.com')
    }
  })
})

describe('the resend cooldown', () => {
  it('answers rate limited to a second start within 30 s on the same system, not on another', async () => {
    f = await engineFixture({ resendCooldownSeconds: 30 })
    await f.acme.systems.create({ name: 'portal', policies: { passwordless: { enabled: true } } })
    await f.acme.users.assign('alice', [
      { system: 'payroll', method: 'passwordless' },
      { system: 'portal', method: 'passwordless' },
    ])
    const first = f.clock.now()
    expect(await f.acme.start(login)).toMatchObject({ result: 'success' })
    f.clock.advance(10 * SECOND)
    expect(await f.acme.start(login)).toEqual({
      result: 'rate limited',
      retryAfter: new Date(first + 30 * SECOND),
    })
    expect(await f.acme.start({ ...login, system: 'portal' })).toMatchObject({ result: 'success' })
    f.clock.advance(20 * SECOND)
    expect(await f.acme.start(login)).toMatchObject({ result: 'success' })
    expect(f.notifier.messages).toHaveLength(3)
  })
})

describe('retryDelay', () => {
  it('doubles from the base, caps at the maximum, and jitters within the upper half', () => {
    const settings = { ...DEFAULT_OUTBOX, baseDelayMs: 1000, maxDelayMs: 8000 }
    for (const [failures, full] of [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [4, 8000],
      [9, 8000],
    ] as const) {
      const delays = Array.from({ length: 200 }, () => retryDelay(failures, settings))
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(full / 2)
      expect(Math.max(...delays)).toBeLessThanOrEqual(full)
      expect(new Set(delays).size).toBeGreaterThan(1)
    }
  })
})
