import { performance } from 'node:perf_hooks'

/**
 * How much request work the event loop may start in one stretch, from the first gate after a check phase
 * (where `setImmediate` callbacks run) to the next check phase, before the rest waits for a later one
 * (issue 16, item 4: the loop's delay under load). Node's poll phase hands the server every request
 * that arrived since the last turn, and each one runs up to its first wait (its transaction) before a
 * timer can fire; when 32 clients ask and are answered together, one turn carries all of them. A gate
 * before each request and before each answer lets through what fits in the budget and moves the rest to
 * the next check phase, where the budget starts again; what does not fit there either waits for the next
 * turn, after the timers have run.
 *
 * The budget is wall-clock time since the stretch's first gate, whatever ran in it (timers, the group
 * commit's batch, garbage collection), and work it lets through may run past it: it bounds how much new
 * work a stretch starts, not how long the stretch lasts. A stretch begun in a check phase runs on through
 * the next timers and poll phases to the next check phase, so under saturation most gated work runs in
 * check phases. Below saturation a stretch rarely spends the budget, so the gate costs a clock read and
 * one `setImmediate` a stretch. Measured with `pnpm bench:loop` (bench/README.md, "Seventh session: a
 * budget for each turn"): 0.8 ms cut the loop's p99 under saturated one-time PIN logins from 8.2–8.8 ms
 * to 6.4–6.7 ms for 3–8% fewer logins a second; 0.3 ms reached 5.0 ms for about a quarter fewer.
 */
export const TURN_BUDGET_MS = 0.8

/**
 * The gate: `undefined` while the current stretch has run less than `budgetMs` (go on at once),
 * otherwise a promise that settles in a later check phase whose stretch still has budget (the first
 * gate of a stretch always passes, so every check phase lets work through). `now` is injectable for tests.
 */
export function turnBudget(
  budgetMs: number = TURN_BUDGET_MS,
  now: () => number = () => performance.now(),
): () => Promise<void> | undefined {
  if (!(budgetMs > 0)) throw new RangeError(`turnBudget: the budget must be more than 0 ms, not ${budgetMs}`)
  // When the stretch's budget began to run; undefined until the first gate after a restart reads the clock.
  let began: number | undefined
  const restart = () => {
    began = undefined
  }
  const gate = (): Promise<void> | undefined => {
    const at = now()
    if (began === undefined) {
      began = at
      // The next check phase starts a new budget: queued before any gate's wait, it runs before them.
      setImmediate(restart)
    }
    if (at - began < budgetMs) return undefined
    return new Promise<void>((resolve) => setImmediate(resolve)).then(gate)
  }
  return gate
}
