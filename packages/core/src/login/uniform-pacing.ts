import { setTimeout as wait } from 'node:timers/promises'
import type { EngineContext } from '../ports/engine-context.js'

// S20: in uniform mode a refused start must take as long as a real one. A real start writes the
// challenge, its outbox row and its counters in one durable transaction; a decoy writes at most an
// audit event. Once one-time PINs became a cheap HMAC (S8), the hash no longer hid that difference
// (a decoy answered in ~0.6 of a real start's time on SQLite). So each engine keeps a moving average
// of how long its real uniform-mode starts take, and a decoy waits out the rest of it.

/** Per engine: the moving average of the logarithm of a real start's milliseconds. */
const averages = new WeakMap<EngineContext, number>()
/** Weight of the newest real start in the moving average. */
const WEIGHT = 0.2
/** About what one event-loop turn costs here, in milliseconds. */
const TURN_MS = 0.06

/** Records how long a real start in uniform mode took, from `began` (performance.now()). */
export function recordRealStart(ctx: EngineContext, began: number): void {
  // In log space: a real start's time is skewed (a group commit or a collection now and then), and a
  // decoy should take what a typical start takes, not what the slow ones pull the mean up to.
  const took = Math.log(Math.max(performance.now() - began, 0.001))
  const average = averages.get(ctx)
  averages.set(ctx, average === undefined ? took : average + WEIGHT * (took - average))
}

/**
 * Per engine: the moving average of how far past its aim a decoy's wait ends, ms. A timer wakes late
 * (by more on a busy machine), so a decoy aiming at the real starts' typical time would answer later than
 * a real start, which tells them apart as well as answering sooner does (measured: 1.2× a real start at a
 * load average of 8 on 2 cores, `pnpm bench:uniform`). Each decoy aims that much earlier.
 */
const overshoots = new WeakMap<EngineContext, number>()

/**
 * Waits until a decoy started at `began` has taken as long as a real start does, on average. A real
 * start can take well under a millisecond (SQLite in memory), below what a timer can wait, so the last
 * stretch passes in event-loop turns: the loop keeps serving others while the decoy waits.
 */
export async function paceLikeRealStart(ctx: EngineContext, began: number): Promise<void> {
  const average = averages.get(ctx)
  if (average === undefined) return
  const typical = Math.exp(average)
  // Never aim earlier than half a typical start: the correction is for a timer's lateness, not a budget.
  const early = Math.min(overshoots.get(ctx) ?? 0, typical / 2)
  const deadline = began + typical - early
  const left = deadline - performance.now()
  // A decoy whose own work took the time already waits for nothing, and says nothing of the timers.
  if (left <= 0) return
  if (left > 2) await wait(Math.floor(left - 1))
  // A turn of the loop takes tens of microseconds: stop half a turn early to land on the deadline on
  // average rather than a turn after it.
  while (deadline - performance.now() > TURN_MS / 2) await new Promise((resolve) => setImmediate(resolve))
  const late = performance.now() - deadline
  overshoots.set(ctx, early + WEIGHT * (late - early))
}
