import { afterEach, describe, expect, it, vi } from 'vitest'
import { createEngine, type EngineOptions } from '../engine.js'
import type { Storage } from '../ports/storage.js'
import { TEST_SECRET } from '../testing/engine-fixture.js'
import { captureNotifier, cheapHasher, manualClock, memoryStorage } from '../testing/index.js'

afterEach(() => {
  vi.useRealTimers()
})

/** An engine whose storage counts the outbox claims (deliverDue) and expiry sweeps (runDue). */
async function countingEngine(options: Partial<EngineOptions> = {}) {
  const calls = { deliverDue: 0, runDue: 0 }
  const storage = memoryStorage()
  const counted: Storage = {
    ...storage,
    outbox: {
      ...storage.outbox,
      claimDeliveries: (...args) => {
        calls.deliverDue++
        return storage.outbox.claimDeliveries(...args)
      },
    },
    logins: {
      ...storage.logins,
      expireDue: (...args) => {
        calls.runDue++
        return storage.logins.expireDue(...args)
      },
    },
  }
  const engine = createEngine({
    storage: counted,
    notifier: captureNotifier(),
    secret: TEST_SECRET,
    links: { baseUrl: 'https://app.example.com' },
    hasher: cheapHasher(),
    logger: { warn: () => {}, error: () => {} },
    ...options,
  })
  await engine.migrate()
  return { engine, calls }
}

const FAKED: ('setInterval' | 'clearInterval')[] = ['setInterval', 'clearInterval']

/**
 * Moves the faked intervals on in 100 ms steps, letting real event-loop turns pass after each: the
 * storage's group commit runs its batches on (real) setImmediate, so a run started by one tick must
 * finish before the next, as it would in real time.
 */
async function advance(ms: number): Promise<void> {
  for (let passed = 0; passed < ms; passed += 100) {
    await vi.advanceTimersByTimeAsync(100)
    for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('the engine’s own periodic work', () => {
  it('runs deliverDue every second and runDue every 30 seconds, until close', async () => {
    vi.useFakeTimers({ toFake: FAKED })
    const { engine, calls } = await countingEngine()
    await advance(1000)
    expect(calls.deliverDue).toBe(1)
    expect(calls.runDue).toBe(0)
    await advance(29_000)
    expect(calls.runDue).toBe(1)
    // 30 outbox beats, plus the outbox part of the sweep.
    expect(calls.deliverDue).toBe(31)
    await engine.close()
    await advance(60_000)
    expect(calls).toEqual({ deliverDue: 31, runDue: 1 })
  })

  it('takes other cadences', async () => {
    vi.useFakeTimers({ toFake: FAKED })
    const { engine, calls } = await countingEngine({ background: { outboxMs: 200, sweepMs: 500 } })
    await advance(1000)
    expect(calls).toEqual({ deliverDue: 5 + 2, runDue: 2 })
    await engine.close()
  })

  it('is off with background: false, and by default with an injected clock (the test drives time)', async () => {
    vi.useFakeTimers({ toFake: FAKED })
    const off = await countingEngine({ background: false })
    const injected = await countingEngine({ clock: manualClock() })
    await advance(60_000)
    expect(off.calls).toEqual({ deliverDue: 0, runDue: 0 })
    expect(injected.calls).toEqual({ deliverDue: 0, runDue: 0 })
    await Promise.all([off.engine.close(), injected.engine.close()])
  })

  it('logs a failing run once per outage and keeps going', async () => {
    vi.useFakeTimers({ toFake: FAKED })
    const errors: string[] = []
    const { engine, calls } = await countingEngine({
      background: { outboxMs: 100, sweepMs: 100_000 },
      logger: { warn: () => {}, error: (message) => errors.push(message) },
    })
    const storage = engine as unknown as { deliverDue: () => Promise<unknown> }
    const real = storage.deliverDue
    let failing = true
    storage.deliverDue = () => (failing ? Promise.reject(new Error('database away')) : real())
    await advance(500)
    expect(errors).toEqual(['periodic deliverDue failed'])
    failing = false
    await advance(300)
    expect(calls.deliverDue).toBe(3)
    await engine.close()
  })
})
