/**
 * S19: `check` polling limited per challenge subject with a token bucket: a burst of `burst` calls,
 * refilled at `perSecond`. A host polling every 2 seconds never meets it; a flood does. Kept in this
 * process's memory, bounded to `maxSubjects` (the least recently seen are forgotten), because a
 * write per poll would cost more than the poll; with N instances a flood gets N buckets at most.
 */
export interface PollLimiter {
  /** Takes one call for `subject`; returns 0 when allowed, else the milliseconds until one is. */
  take(subject: string, now: number): number
}

export function pollLimiter({ burst = 10, perSecond = 1, maxSubjects = 100_000 } = {}): PollLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>()
  return {
    take(subject, now) {
      const bucket = buckets.get(subject) ?? { tokens: burst, at: now }
      buckets.delete(subject)
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond)
      bucket.at = now
      buckets.set(subject, bucket)
      if (buckets.size > maxSubjects) buckets.delete(buckets.keys().next().value as string)
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return 0
      }
      return Math.ceil(((1 - bucket.tokens) / perSecond) * 1000)
    },
  }
}
