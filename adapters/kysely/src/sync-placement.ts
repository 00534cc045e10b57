// Where the executor's next sync runs, when the connection can sync on libuv's pool or on the calling
// thread (`SingleConnection.sync`, `syncNow`). On the pool the event loop goes on meanwhile, but the
// sync costs two wake-ups of a sleeping thread (the pool's, then the loop's), 50-100 µs each on a
// virtual machine: a fifth of a login at 1 in flight (bench/README.md). Blocking the loop for the sync
// instead costs nothing while nothing else would run meanwhile, and a saturated server a quarter of its
// logins (the eighth session's attempt: it blocked whenever no transaction was queued, which on a busy
// server is often true for an instant). So the sync blocks only once the pool's syncs have shown, many
// times in a row, that no commit came while one ran, and while syncs take little time on the whole; one
// sync in every few still goes to the pool to look again (in every 8 at first, in every 32 once a few
// looks in a row found nothing: a look costs a login at 1 in flight the pool's round trip), and a commit
// arriving during one sends every sync back to the pool until the pool's syncs are quiet again.

/** Where one sync runs. */
export type SyncPlace = 'inline' | 'pool'

export interface SyncPlacementOptions {
  /** Pool syncs in a row, each ended before any other commit came, before one runs inline. Default 16. */
  readonly quietSyncs?: number
  /** Once inline, one sync in this many goes to the pool, to see whether commits now overlap. Default 8. */
  readonly probeEvery?: number
  /**
   * Each probe that found no overlap doubles the syncs to the next one, up to this many (default 32); a
   * return to the pool starts again from `probeEvery`. The same as `probeEvery`: a probe at a fixed rate.
   */
  readonly probeEveryAtMost?: number
  /**
   * Inline only while a sync takes at most this long, in ms, as a moving average (a sixteenth of each new
   * sync's time), so one slow sync does not end it but a slow disk does. Default 1.
   */
  readonly limitMs?: number
}

export interface SyncPlacement {
  /** Where the next sync runs. */
  next(): SyncPlace
  /** A sync on the pool ended after `ms`; `crowded`: another commit came while it ran. */
  pooled(ms: number, crowded: boolean): void
  /** A sync on the calling thread ended after `ms`. */
  inline(ms: number): void
}

export function syncPlacement(options: SyncPlacementOptions = {}): SyncPlacement {
  const quietSyncs = options.quietSyncs ?? 16
  const probeEvery = options.probeEvery ?? 8
  const probeEveryAtMost = Math.max(probeEvery, options.probeEveryAtMost ?? 32)
  const limitMs = options.limitMs ?? 1
  let quiet = 0
  let sinceProbe = 0
  // Syncs from one probe to the next, now; and whether the sync on the pool now is a probe.
  let interval = probeEvery
  let probing = false
  // Unknown until a sync ended: no sync runs inline before the first has been timed.
  let typicalMs = Number.POSITIVE_INFINITY
  const took = (ms: number) => {
    typicalMs = Number.isFinite(typicalMs) ? typicalMs + (ms - typicalMs) / 16 : ms
  }
  return {
    next() {
      if (quiet < quietSyncs || typicalMs > limitMs) {
        interval = probeEvery
        return 'pool'
      }
      sinceProbe += 1
      if (sinceProbe < interval) return 'inline'
      sinceProbe = 0
      probing = true
      return 'pool'
    },
    pooled(ms, crowded) {
      took(ms)
      if (crowded) quiet = 0
      else if (quiet < quietSyncs) quiet += 1
      else if (probing) interval = Math.min(interval * 2, probeEveryAtMost)
      probing = false
    },
    inline(ms) {
      took(ms)
    },
  }
}
