import type { Logger } from '../ports/engine-context.js'

// The engine's own periodic work: without it a host had to know to call `runDue`
// and `deliverDue`, and one that did not never retried a failed message. Timers are unref'd (they
// never keep a process alive) and stopped by `engine.close()`.

/** How often the engine does its periodic work by itself; `background: false` turns it off. */
export interface BackgroundSettings {
  /** `deliverDue` (outbox retries, lapsed claims, cancellations): default every 1,000 ms. */
  readonly outboxMs?: number
  /** `runDue` (expiry, send-limit windows, audit retention, completion codes): default every 30,000 ms. */
  readonly sweepMs?: number
}

/** The running timers. */
export interface BackgroundWork {
  /** Stops both timers and waits for a run under way. */
  stop(): Promise<void>
}

/** Runs `deliverDue` and `runDue` on their cadences, never two of one kind at once. */
export function startBackgroundWork(
  work: { readonly deliverDue: () => Promise<unknown>; readonly runDue: () => Promise<unknown> },
  settings: BackgroundSettings,
  logger: Logger,
): BackgroundWork {
  const timers = [
    repeat(settings.outboxMs ?? 1000, 'deliverDue', work.deliverDue, logger),
    repeat(settings.sweepMs ?? 30_000, 'runDue', work.runDue, logger),
  ]
  return { stop: async () => void (await Promise.all(timers.map((timer) => timer.stop()))) }
}

function repeat(ms: number, name: string, work: () => Promise<unknown>, logger: Logger) {
  if (!Number.isInteger(ms) || ms < 10) throw new RangeError(`background.${name} interval must be ≥ 10 ms`)
  let running: Promise<void> | null = null
  let failing = false
  const timer = setInterval(() => {
    // A slow run (a slow mail server) skips beats instead of piling up.
    if (running) return
    running = work()
      .then(
        () => {
          failing = false
        },
        // A failed run must not end the host; the next beat tries again. One line per outage, not per beat.
        (error: unknown) => {
          if (!failing) logger.error(`periodic ${name} failed`, { error: String(error) })
          failing = true
        },
      )
      .finally(() => {
        running = null
      })
  }, ms)
  timer.unref()
  return {
    async stop() {
      clearInterval(timer)
      await running
    },
  }
}
