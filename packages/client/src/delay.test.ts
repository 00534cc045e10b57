import { afterEach, describe, expect, it, vi } from 'vitest'
import { delay, jittered } from './delay.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('delay', () => {
  it('resolves once its time has passed, not before', async () => {
    vi.useFakeTimers()
    let done = false
    const waiting = delay(1000).then(() => {
      done = true
    })
    await vi.advanceTimersByTimeAsync(999)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await waiting
    expect(done).toBe(true)
  })

  it('rejects with the signal’s reason when it aborts and clears its timer', async () => {
    vi.useFakeTimers()
    const controller = new AbortController()
    const waiting = delay(60_000, controller.signal)
    expect(vi.getTimerCount()).toBe(1)
    const reason = new Error('stop')
    controller.abort(reason)
    await expect(waiting).rejects.toBe(reason)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('rejects at once for a signal that already aborted, without a timer', async () => {
    vi.useFakeTimers()
    const waiting = delay(60_000, AbortSignal.abort())
    expect(vi.getTimerCount()).toBe(0)
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
  })
})

describe('jittered', () => {
  it('spans intervalMs ± jitter over the random range', () => {
    expect(jittered(2000, 0.2, () => 0)).toBe(1600)
    expect(jittered(2000, 0.2, () => 0.5)).toBe(2000)
    expect(jittered(2000, 0.2, () => 0.999_999)).toBe(2400)
    expect(jittered(2000, 0, () => 0.9)).toBe(2000)
  })
})
