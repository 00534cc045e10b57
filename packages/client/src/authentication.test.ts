import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient } from './client.js'
import { API_KEY, type Exchange, expectScriptsPlayed, fakeServer, ORIGIN } from './fake-server.js'
import type { PendingAnswer, Sleep } from './types.js'

const NOW = Date.UTC(2026, 0, 1, 9)
const login = { system: 'payroll', authid: 'alice' }

const started: Exchange = {
  method: 'POST',
  path: '/v1/start',
  body: login,
  json: { result: 'success', challengeId: 'ch_1', expiresAt: '2026-01-01T09:10:00.000Z' },
}
// Polls are pinned to the challenge start returned.
const check = (status: number, json: unknown, headers?: Record<string, string>): Exchange => ({
  method: 'POST',
  path: '/v1/check',
  body: { ...login, challengeId: 'ch_1' },
  status,
  json,
  ...(headers && { headers }),
})
const pending = check(202, { result: 'pending', challengeId: 'ch_1', method: 'passwordless' })
const authenticated = check(200, { result: 'authenticated', challengeId: 'ch_1' })

/** A sleep that records what it was asked to wait and returns at once, as a patient clock would. */
function recordedSleep() {
  const waits: number[] = []
  const sleep: Sleep = async (ms, signal) => {
    waits.push(ms)
    if (signal?.aborted) throw signal.reason
  }
  return { waits, sleep }
}

/** A sleep that never ends by itself: only an abort ends it. */
const endlessSleep: Sleep = (_ms, signal) =>
  new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }))

function clientFor(exchanges: readonly Exchange[], sleep: Sleep, random: () => number = () => 0.5) {
  const server = fakeServer(exchanges)
  const client = createClient({
    baseUrl: ORIGIN,
    apiKey: API_KEY,
    fetch: server.fetch,
    sleep,
    random,
    now: () => NOW,
  })
  return { client, server }
}

afterEach(() => {
  expectScriptsPlayed()
  vi.useRealTimers()
})

describe('authenticate', () => {
  it('polls check after each interval until authenticated, telling onPending about every pending answer', async () => {
    const { waits, sleep } = recordedSleep()
    const { client } = clientFor([started, pending, pending, authenticated], sleep)
    const seen: PendingAnswer[] = []
    const answer = await client.authenticate({ ...login, onPending: (p) => void seen.push(p) })
    expect(answer).toEqual({ result: 'authenticated', challengeId: 'ch_1' })
    expect(waits).toEqual([2000, 2000, 2000])
    expect(seen).toEqual([
      { result: 'pending', challengeId: 'ch_1', method: 'passwordless' },
      { result: 'pending', challengeId: 'ch_1', method: 'passwordless' },
    ])
  })

  it('passes the request context to start and to every check, for the audit of the outcome', async () => {
    const context = { ip: '203.0.113.9' }
    const { sleep } = recordedSleep()
    const withContext = (exchange: Exchange): Exchange => ({
      ...exchange,
      body: { ...(exchange.body as object), context },
    })
    const { client } = clientFor(
      [withContext(started), withContext(pending), withContext(authenticated)],
      sleep,
    )
    expect(await client.authenticate({ ...login, context })).toMatchObject({ result: 'authenticated' })
  })

  it('ends with expired when the user never confirms', async () => {
    const { waits, sleep } = recordedSleep()
    const { client } = clientFor([started, pending, check(403, { result: 'expired' })], sleep)
    expect(await client.authenticate({ ...login, intervalMs: 5000, jitter: 0 })).toEqual({
      result: 'expired',
    })
    expect(waits).toEqual([5000, 5000])
  })

  it('returns start’s refusal without polling', async () => {
    const { waits, sleep } = recordedSleep()
    const refused = { result: 'security error', reason: 'user_disabled' }
    const { client } = clientFor([{ ...started, status: 403, json: refused }], sleep)
    expect(await client.authenticate(login)).toEqual(refused)
    expect(waits).toEqual([])
  })

  it('returns start’s rate limit without polling', async () => {
    const { waits, sleep } = recordedSleep()
    const { client } = clientFor(
      [{ ...started, status: 429, json: { result: 'rate limited', retryAfter: '2026-01-01T09:05:00.000Z' } }],
      sleep,
    )
    expect(await client.authenticate(login)).toEqual({
      result: 'rate limited',
      retryAfter: new Date('2026-01-01T09:05:00.000Z'),
    })
    expect(waits).toEqual([])
  })

  it('stops at a final security error but polls on past wrong_pin', async () => {
    const { waits, sleep } = recordedSleep()
    const { client } = clientFor(
      [
        started,
        check(403, { result: 'security error', reason: 'wrong_pin' }),
        check(403, { result: 'security error', reason: 'attempts_exhausted' }),
      ],
      sleep,
    )
    expect(await client.authenticate(login)).toEqual({
      result: 'security error',
      reason: 'attempts_exhausted',
    })
    expect(waits).toHaveLength(2)
  })

  it('waits the Retry-After header’s seconds after a 429 before polling again', async () => {
    const { waits, sleep } = recordedSleep()
    const limited = check(
      429,
      { result: 'rate limited', retryAfter: '2026-01-01T09:00:30.000Z' },
      { 'retry-after': '7' },
    )
    const { client } = clientFor([started, pending, limited, authenticated], sleep)
    expect(await client.authenticate({ ...login, jitter: 0 })).toMatchObject({ result: 'authenticated' })
    expect(waits).toEqual([2000, 2000, 7000])
  })

  it('waits until the body’s retryAfter when a 429 has no Retry-After header', async () => {
    const { waits, sleep } = recordedSleep()
    const limited = check(429, { result: 'rate limited', retryAfter: '2026-01-01T09:00:12.000Z' })
    const { client } = clientFor([started, limited, authenticated], sleep)
    expect(await client.authenticate({ ...login, jitter: 0 })).toMatchObject({ result: 'authenticated' })
    expect(waits).toEqual([2000, 12_000])
  })

  it('spreads every interval within intervalMs ± jitter, reaching both ends', async () => {
    const draws = [0, 0.999_999, 0.25, 0.75]
    const { waits, sleep } = recordedSleep()
    const { client } = clientFor([started, pending, pending, pending, authenticated], sleep, () => {
      const draw = draws.shift()
      if (draw === undefined) throw new Error('more draws than polls')
      return draw
    })
    await client.authenticate({ ...login, intervalMs: 1000, jitter: 0.3 })
    expect(waits).toEqual([700, 1300, 850, 1150])
  })

  it('keeps random intervals within bounds and does not poll in step', async () => {
    const { waits, sleep } = recordedSleep()
    const exchanges = [started, ...Array.from({ length: 199 }, () => pending), authenticated]
    const { client } = clientFor(exchanges, sleep, Math.random)
    await client.authenticate({ ...login, intervalMs: 2000, jitter: 0.2 })
    expect(waits).toHaveLength(200)
    for (const wait of waits) {
      expect(wait).toBeGreaterThanOrEqual(1600)
      expect(wait).toBeLessThanOrEqual(2400)
    }
    expect(new Set(waits).size).toBeGreaterThan(20)
  })

  it('stops while waiting when the signal aborts, with the signal’s reason and no further request', async () => {
    const controller = new AbortController()
    const reason = new Error('the visitor closed the page')
    const { client, server } = clientFor([started], endlessSleep)
    const running = client.authenticate({ ...login, signal: controller.signal })
    await vi.waitFor(() => expect(server.received()).toBe(1))
    controller.abort(reason)
    await expect(running).rejects.toBe(reason)
    expect(server.received()).toBe(1)
  })

  it('stops a check in flight with an AbortError when the signal aborts without a reason', async () => {
    const controller = new AbortController()
    const { sleep } = recordedSleep()
    const { client, server } = clientFor([started, { ...pending, hang: true }], sleep)
    const running = client.authenticate({ ...login, signal: controller.signal })
    await vi.waitFor(() => expect(server.received()).toBe(2))
    controller.abort()
    await expect(running).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('with its own sleep, stops at once on abort and leaves no timer behind', async () => {
    vi.useFakeTimers()
    const controller = new AbortController()
    const server = fakeServer([started])
    const client = createClient({ baseUrl: ORIGIN, apiKey: API_KEY, fetch: server.fetch })
    const outcome = client.authenticate({ ...login, signal: controller.signal }).catch((e: unknown) => e)
    await vi.waitFor(() => expect(vi.getTimerCount()).toBe(1))
    controller.abort()
    expect(await outcome).toMatchObject({ name: 'AbortError' })
    expect(vi.getTimerCount()).toBe(0)
    expect(server.received()).toBe(1)
  })

  it('sends nothing when the signal has already aborted', async () => {
    const { sleep } = recordedSleep()
    const { client, server } = clientFor([], sleep)
    await expect(client.authenticate({ ...login, signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    })
    expect(server.received()).toBe(0)
  })

  it('stops when onPending throws', async () => {
    const { sleep } = recordedSleep()
    const { client } = clientFor([started, pending], sleep)
    const failure = new Error('session store down')
    await expect(
      client.authenticate({
        ...login,
        onPending: () => {
          throw failure
        },
      }),
    ).rejects.toBe(failure)
  })

  it('gives up after timeoutMs with a TimeoutError and leaves no timer behind', async () => {
    vi.useFakeTimers()
    const { client } = clientFor([started], endlessSleep)
    const running = client.authenticate({ ...login, timeoutMs: 60_000 })
    const outcome = running.catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(59_999)
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(await outcome).toMatchObject({ name: 'TimeoutError' })
    expect(vi.getTimerCount()).toBe(0)
  })

  it('clears its timeout when it finishes first', async () => {
    vi.useFakeTimers()
    const { sleep } = recordedSleep()
    const { client } = clientFor([started, authenticated], sleep)
    expect(await client.authenticate({ ...login, timeoutMs: 60_000 })).toMatchObject({
      result: 'authenticated',
    })
    expect(vi.getTimerCount()).toBe(0)
  })

  it('refuses an interval, jitter or timeout that makes no sense, before any request', async () => {
    const { sleep } = recordedSleep()
    const { client, server } = clientFor([], sleep)
    await expect(client.authenticate({ ...login, intervalMs: 0 })).rejects.toThrow(RangeError)
    await expect(client.authenticate({ ...login, jitter: 1.5 })).rejects.toThrow(RangeError)
    await expect(client.authenticate({ ...login, jitter: Number.NaN })).rejects.toThrow(RangeError)
    await expect(client.authenticate({ ...login, timeoutMs: -1 })).rejects.toThrow(RangeError)
    expect(server.received()).toBe(0)
  })
})
