/** How fast a subject may go: a burst, refilled at `perSecond`. */
export interface Rate {
  readonly burst: number
  readonly perSecond: number
}

/**
 * Token buckets per subject in this process's memory, bounded to `maxSubjects` (the least recently
 * seen are forgotten, which can only give a forgotten subject a fresh burst). A bucket costs no I/O,
 * so a refused request costs a map lookup.
 */
export interface TokenBuckets {
  /** Takes one token for `subject`; 0 when allowed, else the milliseconds until one is. */
  take(subject: string, now: number): number
}

export function tokenBuckets(rate: Rate, maxSubjects = 100_000): TokenBuckets {
  if (rate.burst === Number.POSITIVE_INFINITY) return { take: () => 0 }
  const buckets = new Map<string, { tokens: number; at: number }>()
  return {
    take(subject, now) {
      const bucket = buckets.get(subject) ?? { tokens: rate.burst, at: now }
      buckets.delete(subject)
      bucket.tokens = Math.min(
        rate.burst,
        bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * rate.perSecond,
      )
      bucket.at = now
      buckets.set(subject, bucket)
      if (buckets.size > maxSubjects) buckets.delete(buckets.keys().next().value as string)
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return 0
      }
      return Math.ceil(((1 - bucket.tokens) / rate.perSecond) * 1000)
    },
  }
}
