import type { Engine } from '@flexsecure/core'

// The engine does nothing on its own between calls: expiring challenges, retrying deliveries and
// purging the audit happen when the host calls `runDue` (and `deliverDue`, the outbox part of it).
// These are the server's cadences: the outbox every second, the full sweep every 30 seconds.

/** The timers of one app; `stop` on shutdown, before the engine closes. */
export interface DueWork {
  /** Stops both timers and waits for a run under way. */
  stop(): Promise<void>
}

/** Runs `engine.deliverDue()` every `outboxMs` and `engine.runDue()` every `sweepMs`, never two at once. */
export function scheduleDueWork(
  engine: Pick<Engine, 'runDue' | 'deliverDue'>,
  options: {
    readonly outboxMs?: number
    readonly sweepMs?: number
    readonly log?: (message: string, error: unknown) => void
  } = {},
): DueWork {
  const log = options.log ?? ((message, error) => console.error(`[example] ${message}`, error))
  const timers = [
    repeat(options.outboxMs ?? 1000, () => engine.deliverDue(), log),
    repeat(options.sweepMs ?? 30_000, () => engine.runDue(), log),
  ]
  return { stop: async () => void (await Promise.all(timers.map((timer) => timer.stop()))) }
}

function repeat(ms: number, work: () => Promise<unknown>, log: (message: string, error: unknown) => void) {
  let running: Promise<void> | null = null
  const timer = setInterval(() => {
    // A slow run (a slow mail server) skips beats instead of piling up.
    if (running) return
    running = work()
      .then(
        () => undefined,
        // A failed run must not end the host process; the next beat tries again.
        (error: unknown) => log('periodic FlexSecure work failed', error),
      )
      .finally(() => {
        running = null
      })
  }, ms)
  return {
    async stop() {
      clearInterval(timer)
      await running
    },
  }
}
