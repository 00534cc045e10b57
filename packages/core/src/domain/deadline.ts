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
