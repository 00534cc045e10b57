// The syncs a group-commit executor shares among its commits (`group-commit.ts`): one runs at a time, the
// commits made while it runs share the one after it, deferred writes wait a moment for one, and a sync
// runs on the pool or on the calling thread as `sync-placement.ts` says.
import type { SyncPlacement } from './sync-placement.js'

/**
 * A sync that failed before it handed anything to the disk (the file could not be opened): its callers
 * get the error, but the next sync is tried, since no page can have been marked clean unwritten.
 */
export class SyncNotStarted extends Error {
  constructor(cause: unknown) {
    super(`the sync could not start: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.name = 'SyncNotStarted'
  }
}

/**
 * Syncs that several commits share: `after()` resolves once a sync that began after the call has
 * finished. One runs at a time; calls during it share the one that follows it. `soon()` asks for such a
 * sync within `delayMs`, which an `after()` before then answers too. Given `inline`, a sync that a caller
 * waits for runs on the calling thread where its placement says so, told how long each sync took and
 * whether a commit came meanwhile.
 */
export function coalescedSyncs(options: {
  readonly sync: () => Promise<void>
  /** The sync on the calling thread (false: could not run), where to run each, and the ms clock. */
  readonly inline?: {
    readonly syncNow: () => boolean
    readonly placement: SyncPlacement
    readonly clock: () => number
  }
  /** Counted into: syncs started, and those of them run on the calling thread. */
  readonly stats: { syncs: number; inlineSyncs: number }
  readonly delayMs: number
  readonly onUnawaitedFailure: ((error: unknown) => void) | undefined
}) {
  const { sync, inline: here, stats, delayMs, onUnawaitedFailure } = options
  let running: Promise<void> | undefined
  let next: Promise<void> | undefined
  let failed: { readonly error: unknown } | undefined
  let delayed: ReturnType<typeof setTimeout> | undefined
  // Whether a commit came while the running sync ran: the commits overlap, so the loop has other work.
  let crowded = false
  const inline = (): boolean => {
    if (!here || failed || here.placement.next() !== 'inline') return false
    const began = here.clock()
    let ran: boolean
    try {
      ran = here.syncNow()
    } catch (error) {
      failed ??= { error }
      throw error
    }
    if (!ran) return false
    here.placement.inline(here.clock() - began)
    stats.inlineSyncs += 1
    return true
  }
  // `awaited`: a caller waits for this sync. One that nobody waits for never blocks the loop.
  const start = (awaited: boolean): Promise<void> => {
    stats.syncs += 1
    try {
      if (awaited && inline()) return Promise.resolve()
    } catch (error) {
      return Promise.reject(error)
    }
    crowded = false
    const began = here?.clock() ?? 0
    const current = (async () => {
      if (failed) throw failed.error
      try {
        await sync()
      } catch (error) {
        if (!(error instanceof SyncNotStarted)) failed ??= { error }
        throw error
      }
    })()
    running = current
    const ended = () => {
      if (running === current) running = undefined
      here?.placement.pooled(here.clock() - began, crowded)
    }
    current.then(ended, ended)
    return current
  }
  const after = (awaited = true): Promise<void> => {
    if (running) crowded = true
    if (delayed) {
      clearTimeout(delayed)
      delayed = undefined
    }
    if (!running) return start(awaited)
    next ??= running
      .catch(() => {})
      .then(() => {
        next = undefined
        return start(true)
      })
    return next
  }
  // Nobody waits for these: a failure is remembered for the next callers who need the disk, and told
  // once, since the writes it leaves unsynced were answered already.
  const told = { final: false, notStarted: false }
  const unawaited = () => {
    after(false).catch((error: unknown) => {
      const kind = error instanceof SyncNotStarted ? 'notStarted' : 'final'
      if (told[kind]) return
      told[kind] = true
      onUnawaitedFailure?.(error)
    })
  }
  return {
    after,
    soon(): void {
      if (running) crowded = true
      // A sync already queued behind the running one begins after this commit: it writes it.
      if (next) return
      if (delayMs <= 0) unawaited()
      else if (!delayed) {
        delayed = setTimeout(unawaited, delayMs)
        // Not a reason to keep the process alive: a commit not yet synced survives the process (the
        // operating system has it and writes it back within seconds); `flush()` is how a closing
        // storage syncs it at once.
        delayed.unref()
      }
    },
    /**
     * Resolves once every commit so far is on the disk: runs the delayed or queued sync now, or waits for
     * the running one.
     */
    async flush(): Promise<void> {
      // After a failed sync no later commit was made durable, whatever a sync would now say.
      if (failed) throw failed.error
      if (delayed || next) await after()
      else if (running) await running
    },
  }
}
