import { describe, expect, it } from 'vitest'
import type { EngineContext } from '../ports/engine-context.js'
import { paceLikeRealStart, recordRealStart } from './uniform-pacing.js'

// S20: a refused start in uniform mode must not answer faster than a real one. Its pacing is checked here
// as a lower bound, which holds on a loaded machine too (waits only ever run long); how close the two
// come is a speed, measured outside the test suite.
describe('uniform pacing (S20)', () => {
  const engine = () => ({}) as EngineContext

  it('makes a decoy wait out what the real starts of its engine typically take', async () => {
    const ctx = engine()
    for (let i = 0; i < 5; i++) recordRealStart(ctx, performance.now() - 6)
    const began = performance.now()
    await paceLikeRealStart(ctx, began)
    expect(performance.now() - began).toBeGreaterThanOrEqual(5.5)
  })

  it('waits only the rest of it when the decoy already took some of that time', async () => {
    const ctx = engine()
    for (let i = 0; i < 5; i++) recordRealStart(ctx, performance.now() - 6)
    const began = performance.now() - 4
    await paceLikeRealStart(ctx, began)
    expect(performance.now() - began).toBeGreaterThanOrEqual(5.5)
  })

  it('aims earlier by what its waits overshoot, so a busy loop does not make decoys the slow ones', async () => {
    const ctx = engine()
    for (let i = 0; i < 5; i++) recordRealStart(ctx, performance.now() - 40)
    // Ten decoys whose timer fires late: something holds the loop for 30 ms across each one's deadline.
    for (let i = 0; i < 10; i++) {
      const began = performance.now()
      const held = setTimeout(() => {
        while (performance.now() - began < 60);
      }, 30)
      await paceLikeRealStart(ctx, began)
      clearTimeout(held)
    }
    // With the loop free again, a decoy answers before the typical 40 ms: it has learnt its timers run
    // late (about 20 ms here), and aims that much earlier, never earlier than half a typical start.
    const began = performance.now()
    await paceLikeRealStart(ctx, began)
    const took = performance.now() - began
    expect(took).toBeLessThan(36)
    expect(took).toBeGreaterThanOrEqual(19.5)
  })

  it('does not wait before any real start was seen, nor for another engine', async () => {
    const seen = engine()
    recordRealStart(seen, performance.now() - 50)
    const began = performance.now()
    await paceLikeRealStart(engine(), began)
    expect(performance.now() - began).toBeLessThan(50)
  })
})
