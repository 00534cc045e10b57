import { performance } from 'node:perf_hooks'

/**
 * How much request work the event loop may start between two of its check phases (where `setImmediate`
 * callbacks run) before the rest waits for a later one (issue 16, item 4: the loop's delay under load).
 * Node's poll phase hands the server every request that arrived since the last turn, and each one runs up
 * to its first wait (its transaction) before a timer can fire; when 32 clients ask and are answered
 * together, one turn carries all of them. A gate before each request and before each answer lets through
 * what fits in the budget and moves the rest to the next check phase, where the budget starts again; what
 * does not fit there either waits for the next turn, after the timers have run.
 *
 * Below saturation a phase never spends the budget, so the gate only reads the clock. Measured with
 * `pnpm bench:loop` (bench/README.md, "Seventh session: a budget for each turn"): 0.8 ms cut the loop's
 * p99 under saturated one-time PIN logins from 8.7–9.0 ms to 6.4–6.7 ms at the same logins a second; a
 * budget of 0.3 ms reached 5.0 ms but cost a fifth of the logins.
 */
export const TURN_BUDGET_MS = 0.8

/**
 * The gate: `undefined` while the current phase is within `budgetMs` (go on at once), otherwise a
 * promise that settles in a later phase that still has budget. `now` is injectable for tests.
 */
export function turnBudget(
  budgetMs: number = TURN_BUDGET_MS,
  now: () => number = () => performance.now(),
): () => Promise<void> | undefined {
  // When the budget began to run; -1 until the first gate after a check phase reads the clock.
  let began = -1
  const restart = () => {
    began = -1
  }
  const gate = (): Promise<void> | undefined => {
    const at = now()
    if (began < 0) {
      began = at
      // The next check phase starts a new budget: queued before any gate's wait, it runs before them.
      setImmediate(restart)
    }
    if (at - began < budgetMs) return undefined
    return new Promise<void>((resolve) => setImmediate(resolve)).then(gate)
  }
  return gate
}
