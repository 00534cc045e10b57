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
 * one `setImmediate` a stretch. Measured with `pnpm bench:loop` (bench/HISTORY.md, "Seventh session: a
 * budget for each turn"): 0.8 ms cut the loop's p99 under saturated one-time PIN logins from 8.2–8.8 ms
 * to 6.4–6.7 ms for 3–8% fewer logins a second; 0.3 ms reached 5.0 ms for about a quarter fewer. On the
 * fourteenth host (twentieth session, bench/README.md), three runs of each one after the other: 0.5 ms
 * gave 4.70, 4.78 and 5.14 ms at 1,172, 999 and 930 logins a second, 0.8 ms 6.09, 5.81 and 5.68 ms at
 * 1,027, 1,073 and 909, the paced and memorized cells alike; pending polls were not fewer (13,140 a
 * second against 11,028). So 0.5 since then.
 */
export const TURN_BUDGET_MS = 0.5

/** What waits at the gate: a request about to be handled, or an answer about to be written. */
export type GateKind = 'request' | 'answer'

/**
 * The gate: `undefined` while the current stretch has run less than `budgetMs` and nothing of its kind
 * waits (go on at once), otherwise a promise that settles in a later check phase with budget left. The
 * waiting work is let through one piece at a time, each after the work let through before it has run as
 * far as it goes without the event loop, answers and requests taking turns, each kind in order: under a
 * flood of requests the answers of work already done (a `check` that answered `authenticated` has used
 * its challenge up) do not wait for every request behind them. Answers always first measured 0.4–0.9 ms
 * more loop p99 under saturation; turns measured as the code before (bench/HISTORY.md, "Tenth session").
 * The first of a check phase always passes, so every check phase lets work through. Each waiting piece
 * of work costs the same whatever the queue's length: one check phase's `setImmediate` serves all of
 * them. `now` is injectable for tests; `waiting` says how many wait.
 */
export function turnBudget(
  budgetMs: number = TURN_BUDGET_MS,
  now: () => number = () => performance.now(),
): ((kind?: GateKind) => Promise<void> | undefined) & { readonly waiting: number } {
  if (!(budgetMs > 0)) throw new RangeError(`turnBudget: the budget must be more than 0 ms, not ${budgetMs}`)
  // When the stretch's budget began to run; undefined until the first gate after a restart reads the clock.
  let began: number | undefined
  const restart = () => {
    began = undefined
  }
  const queues: Record<GateKind, Queue> = { answer: new Queue(), request: new Queue() }
  let pumping = false
  let answerNext = false
  const spent = (at: number) => {
    if (began === undefined) {
      began = at
      // The next check phase starts a new budget: queued before any gate's wait, it runs before them.
      setImmediate(restart)
    }
    return at - began >= budgetMs
  }
  // In a check phase: a new stretch, whose first piece of waiting work always goes.
  const pump = () => {
    began = undefined
    release(true)
  }
  const release = (first: boolean) => {
    if (!first && spent(now())) {
      setImmediate(pump)
      return
    }
    // Answers and requests take turns, so that neither waits for the whole of the other's queue.
    answerNext = !answerNext
    const next = answerNext
      ? (queues.answer.shift() ?? queues.request.shift())
      : (queues.request.shift() ?? queues.answer.shift())
    if (!next) {
      pumping = false
      return
    }
    if (first) spent(now())
    next()
    // The next one once the work just let through has gone as far as it can without the event loop: a
    // tick queued from a microtask runs only after the whole microtask queue has drained.
    queueMicrotask(() => process.nextTick(release, false))
  }
  const gate = (kind: GateKind = 'request'): Promise<void> | undefined => {
    if (!spent(now()) && queues[kind].length === 0) return undefined
    return new Promise<void>((resolve) => {
      queues[kind].push(resolve)
      if (!pumping) {
        pumping = true
        setImmediate(pump)
      }
    })
  }
  return Object.defineProperty(gate, 'waiting', {
    get: () => queues.answer.length + queues.request.length,
  }) as typeof gate & { readonly waiting: number }
}

/** A first-in, first-out queue whose `shift` costs the same at any length (an array's does not). */
class Queue {
  private items: (() => void)[] = []
  private head = 0
  get length(): number {
    return this.items.length - this.head
  }
  push(item: () => void): void {
    this.items.push(item)
  }
  shift(): (() => void) | undefined {
    if (this.head === this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head++] = noop
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }
}

const noop = () => {}
