import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { scheduleDueWork } from './due-work.js'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

const result = { expired: 0, cancelled: 0, delivered: 0, auditPurged: 0, challengesPurged: 0 }

describe('scheduleDueWork', () => {
  it('runs the outbox every second and the sweep every 30 seconds, and nothing after stop', async () => {
    const engine = { runDue: vi.fn(async () => result), deliverDue: vi.fn(async () => result) }
    const due = scheduleDueWork(engine)
    await vi.advanceTimersByTimeAsync(60_000)
    expect([engine.deliverDue.mock.calls.length, engine.runDue.mock.calls.length]).toEqual([60, 2])
    await due.stop()
    await vi.advanceTimersByTimeAsync(60_000)
    expect([engine.deliverDue.mock.calls.length, engine.runDue.mock.calls.length]).toEqual([60, 2])
  })

  it('skips beats while a run is under way, and stop waits for that run', async () => {
    let finish = () => {}
    const engine = {
      runDue: vi.fn(async () => result),
      deliverDue: vi.fn(() => new Promise<typeof result>((resolve) => (finish = () => resolve(result)))),
    }
    const due = scheduleDueWork(engine)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(engine.deliverDue).toHaveBeenCalledTimes(1)
    let stopped = false
    const stopping = due.stop().then(() => {
      stopped = true
    })
    await vi.advanceTimersByTimeAsync(0)
    expect(stopped).toBe(false)
    finish()
    await stopping
    expect(stopped).toBe(true)
  })

  it('logs a failed run and keeps the timer going, instead of an unhandled rejection', async () => {
    const logged: unknown[] = []
    const engine = {
      runDue: vi.fn(async () => result),
      deliverDue: vi.fn(async () => {
        throw new Error('database gone')
      }),
    }
    const due = scheduleDueWork(engine, { log: (message, error) => logged.push([message, String(error)]) })
    await vi.advanceTimersByTimeAsync(3_000)
    await due.stop()
    expect(engine.deliverDue).toHaveBeenCalledTimes(3)
    expect(logged).toEqual(Array(3).fill(['periodic FlexSecure work failed', 'Error: database gone']))
  })
})
