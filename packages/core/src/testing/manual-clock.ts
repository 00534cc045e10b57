import type { Clock } from '../ports/clock.js'

/** A clock that moves only when told, so tests reach expiry without sleeping. */
export interface ManualClock extends Clock {
  advance(ms: number): void
  set(epochMs: number): void
}

/** Starts at `start` (default 2026-01-01T09:00:00Z). */
export function manualClock(start = Date.UTC(2026, 0, 1, 9)): ManualClock {
  let now = start
  return {
    now: () => now,
    advance: (ms) => {
      now += ms
    },
    set: (epochMs) => {
      now = epochMs
    },
  }
}
