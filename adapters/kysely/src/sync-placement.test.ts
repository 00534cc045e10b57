// Where a sync runs (sync-placement.ts): on libuv's pool until the pool's syncs show that commits come one
// at a time, then on the calling thread, with a probe on the pool now and then; back on the pool at the
// first commit that overlaps a sync, and while syncs are slow on the whole.
import { describe, expect, it } from 'vitest'
import { type SyncPlace, syncPlacement } from './sync-placement.js'

/** Runs `n` syncs the way the executor does: asks where, then reports how it went. */
function run(
  placement: ReturnType<typeof syncPlacement>,
  n: number,
  sync: { ms: number; crowded?: boolean } = { ms: 0.2 },
): SyncPlace[] {
  const places: SyncPlace[] = []
  for (let i = 0; i < n; i++) {
    const place = placement.next()
    places.push(place)
    if (place === 'pool') placement.pooled(sync.ms, sync.crowded ?? false)
    else placement.inline(sync.ms)
  }
  return places
}

const count = (places: SyncPlace[], place: SyncPlace) => places.filter((p) => p === place).length

describe('sync placement', () => {
  it('keeps syncs on the pool until 16 in a row were quiet, then runs them inline but one in 8', () => {
    const placement = syncPlacement()
    expect(run(placement, 16)).toEqual(Array(16).fill('pool'))
    const after = run(placement, 8)
    expect(after.slice(0, 7)).toEqual(Array(7).fill('inline'))
    expect(after[7]).toBe('pool') // the probe: would a commit come while the loop is free?
  })

  it('probes half as often after each probe that found no overlap, down to one sync in 32', () => {
    const placement = syncPlacement()
    run(placement, 16)
    const probes = (places: SyncPlace[]) => places.flatMap((place, i) => (place === 'pool' ? [i + 1] : []))
    // Quiet probes: the next one comes after 8, then 16, then 32 syncs, and stays at 32.
    expect(probes(run(placement, 8 + 16 + 32 + 32 + 32))).toEqual([8, 24, 56, 88, 120])
  })

  it('probes one in 8 again once a probe found an overlap and the pool went quiet again', () => {
    const placement = syncPlacement()
    run(placement, 16)
    run(placement, 8 + 16 + 32) // three quiet probes: one sync in 32 now
    expect(run(placement, 31)).toEqual(Array(31).fill('inline'))
    expect(placement.next()).toBe('pool')
    placement.pooled(0.2, true) // a commit came during the probe
    expect(run(placement, 16)).toEqual(Array(16).fill('pool'))
    const after = run(placement, 8)
    expect(after.slice(0, 7)).toEqual(Array(7).fill('inline'))
    expect(after[7]).toBe('pool')
  })

  it('probes at a fixed rate when the two settings agree', () => {
    const placement = syncPlacement({ probeEvery: 8, probeEveryAtMost: 8 })
    run(placement, 16)
    expect(count(run(placement, 80), 'pool')).toBe(10)
  })

  it('goes back to the pool when a commit came during a sync, for another 16 quiet ones', () => {
    const placement = syncPlacement({ probeEvery: 4 })
    run(placement, 16)
    expect(run(placement, 3)).toEqual(['inline', 'inline', 'inline'])
    expect(placement.next()).toBe('pool') // the probe...
    placement.pooled(0.2, true) // ...during which another transaction committed: commits overlap
    expect(run(placement, 16, { ms: 0.2, crowded: false })).toEqual(Array(16).fill('pool'))
    expect(placement.next()).toBe('inline')
  })

  it('stays on the pool while commits keep overlapping its syncs', () => {
    const placement = syncPlacement()
    expect(count(run(placement, 200, { ms: 0.2, crowded: true }), 'inline')).toBe(0)
  })

  it('does not block the loop on a slow disk, and outlasts one slow sync', () => {
    const slow = syncPlacement({ limitMs: 1 })
    expect(count(run(slow, 100, { ms: 3 }), 'inline')).toBe(0)
    const fast = syncPlacement({ limitMs: 1 })
    run(fast, 16)
    fast.inline(5) // one sync that waited on the disk: the average moves from 0.2 to 0.5 ms
    expect(fast.next()).toBe('inline')
    // A disk that became slow: within a few syncs the average passes the limit, and they go to the pool.
    const places = run(fast, 10, { ms: 4 })
    expect(places.slice(-5)).toEqual(Array(5).fill('pool'))
  })
})
