import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createClient } from './client.js'
import { contractBreaches, ORIGIN, type ServedEngine, servedEngine } from './served-engine.js'
import type { PendingAnswer, Sleep } from './types.js'

// `authenticate` against the real server: the user "confirms" the link from inside the injected sleep,
// as a patient clock would see it happen between two polls.

const login = { system: 'payroll', authid: 'alice' }
let served: ServedEngine

beforeEach(async () => {
  served = await servedEngine()
})
afterEach(async () => {
  vi.useRealTimers()
  expect(contractBreaches()).toEqual([])
  await served.close()
})
afterAll(() => {
  vi.useRealTimers()
})

/** The user opens the link that was sent last. */
const confirmLink = async () => {
  await served.engine.links.confirm(served.notifier.last().token as string)
}

/**
 * A sleep that records each wait and moves the server's clock on by it at once, running `during[i]`
 * in the i-th wait.
 */
function recordedSleep(during: readonly (() => Promise<void>)[] = []) {
  const waits: number[] = []
  const sleep: Sleep = async (ms, signal) => {
    await during[waits.length]?.()
    served.clock.advance(ms)
    waits.push(ms)
    if (signal?.aborted) throw signal.reason
  }
  return { waits, sleep }
}

/** A sleep that never ends by itself: only an abort ends it. */
const endlessSleep: Sleep = (_ms, signal) =>
  new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }))

function clientFor(sleep: Sleep, random: () => number = () => 0.5, key = served.authKey) {
  return createClient({
    baseUrl: ORIGIN,
    apiKey: key,
    fetch: served.fetch,
    sleep,
    random,
    now: () => served.clock.now(),
  })
}

describe('authenticate', () => {
  it('polls check after each interval until authenticated, telling onPending about every pending answer', async () => {
    const { waits, sleep } = recordedSleep([async () => {}, async () => {}, confirmLink])
    const seen: PendingAnswer[] = []
    const answer = await clientFor(sleep).authenticate({ ...login, onPending: (p) => void seen.push(p) })
    expect(answer).toEqual({ result: 'authenticated', challengeId: expect.any(String) })
    expect(waits).toEqual([2000, 2000, 2000])
    expect(seen).toHaveLength(2)
    expect(seen[0]).toEqual({
      result: 'pending',
      challengeId: (answer as { challengeId: string }).challengeId,
      method: 'passwordless',
      channel: 'email',
      delivery: 'sent',
      next: 'passwordless',
    })
  })

  it('passes the request context to start and to every check, for the audit of the outcome', async () => {
    const { sleep } = recordedSleep([confirmLink])
    const context = { ip: '198.51.100.4' }
    expect(await clientFor(sleep).authenticate({ ...login, context })).toMatchObject({
      result: 'authenticated',
    })
    const { events } = await served.acme.audit.list({ authid: 'alice' })
    const started = events.find((event) => event.type === 'challenge.started')
    const authenticated = events.find((event) => event.outcome === 'authenticated')
    expect(started?.ip).toBe('198.51.100.4')
    expect(authenticated?.ip).toBe('198.51.100.4')
  })

  it('ends with expired when the user never confirms', async () => {
    const elevenMinutes = async () => served.clock.advance(11 * 60_000)
    const { waits, sleep } = recordedSleep([async () => {}, elevenMinutes])
    expect(await clientFor(sleep).authenticate({ ...login, intervalMs: 5000, jitter: 0 })).toEqual({
      result: 'expired',
    })
    expect(waits).toEqual([5000, 5000])
  })

  it('returns start’s refusal without polling', async () => {
    const { waits, sleep } = recordedSleep()
    await served.acme.users.update('alice', { status: 'disabled' })
    expect(await clientFor(sleep).authenticate(login)).toEqual({
      result: 'security error',
      reason: 'user_disabled',
    })
    expect(waits).toEqual([])
    expect(served.requests()).toBe(1)
  })

  it('returns start’s rate limit without polling', async () => {
    const { waits, sleep } = recordedSleep()
    await served.acme.settings.update({ sendLimits: { perUserPerHour: 1 } })
    await served.acme.start(login)
    const answer = await clientFor(sleep).authenticate(login)
    expect(answer).toMatchObject({ result: 'rate limited' })
    expect((answer as { retryAfter: Date }).retryAfter.getTime()).toBe(served.clock.now() + 3_600_000)
    expect(waits).toEqual([])
  })

  it('stops at a final security error: the user removed while the login waits', async () => {
    const removeAlice = async () => served.acme.users.remove('alice')
    const { waits, sleep } = recordedSleep([async () => {}, removeAlice])
    const answer = await clientFor(sleep).authenticate(login)
    expect(answer).toMatchObject({ result: 'security error' })
    expect(waits).toHaveLength(2)
  })

  it('waits the Retry-After header’s seconds after a 429 before polling again', async () => {
    await served.close()
    served = await servedEngine({ polling: { burst: 1, perSecond: 0.2 } })
    const { waits, sleep } = recordedSleep([async () => {}, async () => {}, confirmLink])
    expect(await clientFor(sleep).authenticate({ ...login, jitter: 0 })).toMatchObject({
      result: 'authenticated',
    })
    // The second poll, 2 s after the first, is refused for the 3 s left of the 5 s a poll costs, and
    // the client waits exactly those 3 s before the third.
    expect(waits).toEqual([2000, 2000, 3000])
  })

  it('spreads every interval within intervalMs ± jitter, reaching both ends', async () => {
    const draws = [0, 0.999_999, 0.25, 0.75]
    const { waits, sleep } = recordedSleep([async () => {}, async () => {}, async () => {}, confirmLink])
    const random = () => {
      const draw = draws.shift()
      if (draw === undefined) throw new Error('more draws than polls')
      return draw
    }
    await clientFor(sleep, random).authenticate({ ...login, intervalMs: 1000, jitter: 0.3 })
    expect(waits).toEqual([700, 1300, 850, 1150])
  })

  it('keeps random intervals within bounds and does not poll in step', async () => {
    const during = Array.from({ length: 60 }, () => async () => {})
    during[59] = confirmLink
    const { waits, sleep } = recordedSleep(during)
    await clientFor(sleep, Math.random).authenticate({ ...login, intervalMs: 2000, jitter: 0.2 })
    expect(waits).toHaveLength(60)
    for (const wait of waits) {
      expect(wait).toBeGreaterThanOrEqual(1600)
      expect(wait).toBeLessThanOrEqual(2400)
    }
    expect(new Set(waits).size).toBeGreaterThan(20)
  })

  it('stops while waiting when the signal aborts, with the signal’s reason and no further request', async () => {
    const controller = new AbortController()
    const reason = new Error('the visitor closed the page')
    const running = clientFor(endlessSleep).authenticate({ ...login, signal: controller.signal })
    await vi.waitFor(() => expect(served.requests()).toBe(1))
    controller.abort(reason)
    await expect(running).rejects.toBe(reason)
    expect(served.requests()).toBe(1)
  })

  it('stops a check in flight with an AbortError when the signal aborts without a reason', async () => {
    const controller = new AbortController()
    const { sleep } = recordedSleep()
    let checks = 0
    // The server takes its time with the check: it answers only once the caller has given up.
    const slow = async (url: string, init: RequestInit) => {
      if (!url.endsWith('/v1/check')) return served.fetch(url, init)
      checks++
      await new Promise((resolve) => init.signal?.addEventListener('abort', resolve, { once: true }))
      throw init.signal?.reason
    }
    const client = createClient({ baseUrl: ORIGIN, apiKey: served.authKey, fetch: slow, sleep })
    const running = client.authenticate({ ...login, signal: controller.signal })
    await vi.waitFor(() => expect(checks).toBe(1))
    controller.abort()
    await expect(running).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('with its own sleep, stops at once on abort and leaves no timer behind', async () => {
    const controller = new AbortController()
    const client = createClient({ baseUrl: ORIGIN, apiKey: served.authKey, fetch: served.fetch })
    await client.start(login)
    vi.useFakeTimers()
    const outcome = client.authenticate({ ...login, signal: controller.signal }).catch((e: unknown) => e)
    await vi.waitFor(() => expect(vi.getTimerCount()).toBe(1))
    controller.abort()
    expect(await outcome).toMatchObject({ name: 'AbortError' })
    expect(vi.getTimerCount()).toBe(0)
    expect(served.requests()).toBe(2)
  })

  it('sends nothing when the signal has already aborted', async () => {
    const { sleep } = recordedSleep()
    await expect(
      clientFor(sleep).authenticate({ ...login, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ name: 'AbortError' })
    expect(served.requests()).toBe(0)
  })

  it('stops when onPending throws', async () => {
    const { sleep } = recordedSleep()
    const failure = new Error('session store down')
    await expect(
      clientFor(sleep).authenticate({
        ...login,
        onPending: () => {
          throw failure
        },
      }),
    ).rejects.toBe(failure)
  })

  it('gives up after timeoutMs with a TimeoutError and leaves no timer behind', async () => {
    const client = clientFor(endlessSleep)
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const outcome = client.authenticate({ ...login, timeoutMs: 60_000 }).catch((e: unknown) => e)
    while (served.requests() < 1) await new Promise((resolve) => setImmediate(resolve))
    await vi.advanceTimersByTimeAsync(59_999)
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(await outcome).toMatchObject({ name: 'TimeoutError' })
    expect(vi.getTimerCount()).toBe(0)
  })

  it('clears its timeout when it finishes first', async () => {
    const { sleep } = recordedSleep([confirmLink])
    const client = clientFor(sleep)
    // Only the client's own timers: the real handler's storage commits on setImmediate.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    expect(await client.authenticate({ ...login, timeoutMs: 60_000 })).toMatchObject({
      result: 'authenticated',
    })
    expect(vi.getTimerCount()).toBe(0)
  })

  it('refuses an interval, jitter or timeout that makes no sense, before any request', async () => {
    const client = clientFor(recordedSleep().sleep)
    await expect(client.authenticate({ ...login, intervalMs: 0 })).rejects.toThrow(RangeError)
    await expect(client.authenticate({ ...login, jitter: 1.5 })).rejects.toThrow(RangeError)
    await expect(client.authenticate({ ...login, jitter: Number.NaN })).rejects.toThrow(RangeError)
    await expect(client.authenticate({ ...login, timeoutMs: -1 })).rejects.toThrow(RangeError)
    expect(served.requests()).toBe(0)
  })
})
