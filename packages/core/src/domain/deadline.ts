/** What `settledWithin` answers when the work had not settled in time. */
export const LATE: unique symbol = Symbol('late')

/**
 * `work`'s value (or its rejection) if it settles within `ms`, else `LATE`; the work itself runs on.
 * The timer is unref'd: a deadline alone is no reason to keep a process alive.
 */
export async function settledWithin<T>(work: Promise<T>, ms: number): Promise<T | typeof LATE> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => resolve(LATE), ms)
    timer.unref?.()
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Work under way, counted, for a close that waits for it to end (`settledWithin` bounds the wait). */
export interface UnderWay {
  /** How much is under way now. */
  readonly count: number
  /** Counts `work` until it settles; returns it. */
  track<T>(work: Promise<T>): Promise<T>
  /** Resolves once nothing is under way: at once when nothing is. */
  idle(): Promise<void>
}

export function underWay(): UnderWay {
  let count = 0
  let waiters: (() => void)[] = []
  const end = () => {
    count -= 1
    if (count > 0) return
    const woken = waiters
    waiters = []
    for (const wake of woken) wake()
  }
  return {
    get count() {
      return count
    },
    track(work) {
      count += 1
      work.then(end, end)
      return work
    },
    idle: () => (count === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
  }
}
