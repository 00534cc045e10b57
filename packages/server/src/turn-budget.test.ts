// The turn budget (turn-budget.ts): the gate lets request work through until the budget of the current
// stretch of the event loop is spent, then moves the rest to later check phases, a budget's worth each.
// The clock is the test's; the loop's phases are real (setImmediate).
import { describe, expect, it } from 'vitest'
import { turnBudget } from './turn-budget.js'

const nextCheckPhase = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('turn budget', () => {
  it('lets work through at once while the budget lasts, and moves the rest to the next check phase', async () => {
    let clock = 0
    const gate = turnBudget(1, () => clock)
    expect(gate()).toBeUndefined()
    clock = 0.9
    expect(gate()).toBeUndefined()
    clock = 1.0 // spent: the next piece of work waits
    let ran = false
    const waiting = gate()?.then(() => {
      ran = true
    })
    expect(waiting).toBeInstanceOf(Promise)
    await Promise.resolve() // microtasks alone do not let it through
    expect(ran).toBe(false)
    await waiting
    expect(ran).toBe(true)
    // In the new stretch the budget starts again.
    expect(gate()).toBeUndefined()
  })

  it('lets a budget of waiting work through per check phase, not all of it at once', async () => {
    let clock = 0
    const gate = turnBudget(1, () => clock)
    gate() // the stretch's first gate, at 0 ms
    clock = 10 // ...and its budget long spent: everything below waits
    const phaseOf: number[] = []
    let phase = 0
    const waits = Array.from({ length: 5 }, (_, i) =>
      Promise.resolve(gate()).then(() => {
        phaseOf[i] = phase
        clock += 0.4 // each piece of work takes 0.4 ms of the budget
      }),
    )
    const counting = (async () => {
      for (let n = 0; n < 10; n++) {
        await nextCheckPhase()
        phase++
      }
    })()
    await Promise.all(waits)
    await counting
    // 0.4 ms each against 1 ms: three pieces fit in a stretch (0, 0.4, 0.8 ms in), never all five.
    expect(new Set(phaseOf).size).toBeGreaterThan(1)
    const perPhase = [...new Set(phaseOf)].map((p) => phaseOf.filter((q) => q === p).length)
    expect(Math.max(...perPhase)).toBeLessThanOrEqual(3)
  })

  it('costs each waiting piece of work the same, however long the queue', async () => {
    // Each waiter re-ran the gate in every check phase until its turn: a flood of 8,000 pipelined
    // requests on one connection cost seconds of gating and hundreds of MB of promise chains.
    let clock = 0
    let reads = 0
    const gate = turnBudget(1, () => {
      reads += 1
      return clock
    })
    gate()
    clock = 10
    const waiters = 2000
    const done = Array.from({ length: waiters }, () =>
      Promise.resolve(gate()).then(() => {
        clock += 0.4
      }),
    )
    expect(gate.waiting).toBe(waiters)
    await Promise.all(done)
    expect(gate.waiting).toBe(0)
    // A few clock reads a waiter (its gate, its release), not one a waiter a check phase (about 700 here).
    expect(reads).toBeLessThan(waiters * 5)
  })

  it('lets waiting answers and requests through in turns, so neither waits for all of the other', async () => {
    // A flood of requests must not hold the answers of the work already done (an authenticated check's
    // answer, its challenge used up) behind every request that came after it.
    let clock = 0
    const gate = turnBudget(1, () => clock)
    gate()
    clock = 10
    const order: string[] = []
    const wait = (kind: 'request' | 'answer', name: string) =>
      Promise.resolve(gate(kind)).then(() => {
        order.push(name)
      })
    const all = [
      ...['r1', 'r2', 'r3', 'r4'].map((name) => wait('request', name)),
      ...['a1', 'a2'].map((name) => wait('answer', name)),
    ]
    await Promise.all(all)
    expect(order).toEqual(['a1', 'r1', 'a2', 'r2', 'r3', 'r4'])
  })

  it('refuses a budget that would never let work through', () => {
    for (const budget of [0, -1, Number.NaN]) expect(() => turnBudget(budget)).toThrow(RangeError)
  })
})
