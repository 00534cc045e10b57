import type { Logger, OutcomeQueue } from '../ports/engine-context.js'
import type { AuditDraft, DeliveryOutcome, DeliveryState, Storage } from '../ports/storage.js'

// A delivery's outcome (sent, or failed with a retry scheduled) is recorded behind the
// send, not on the login path. `start` answers as soon as the notifier has answered; the outcome joins a
// queue, and the queue is written in one transaction per batch: everything that arrived while the
// previous batch was being written. A crash before the write
// loses nothing the outbox does not already cover: the row stays claimed until its lease lapses, and is
// sent again (at least once). An abandoned delivery, which may queue a fallback, is still recorded
// inline (outbox.ts).

/** An outcome waiting to be written, and what to do once it is. */
export interface QueuedOutcome {
  readonly outcome: DeliveryOutcome
  readonly audit: readonly AuditDraft[]
  /** Called after the write, when the claim still held (the row moved). */
  readonly recorded: () => void
}

/** At most this many outcomes per transaction; more wait for the next one. */
const BATCH = 200

export function outcomeQueue(storage: Storage, logger: Logger): OutcomeQueue {
  let queue: QueuedOutcome[] = []
  /** The write in progress (the loop that drains the queue), if any. */
  let writing: Promise<void> | null = null
  const states = new Map<string, DeliveryState>()
  /** Sends still running: their outcomes are yet to be queued. */
  const sending = new Set<Promise<unknown>>()

  const writeBatch = async (batch: readonly QueuedOutcome[]) => {
    let moved: readonly boolean[]
    try {
      moved = storage.outbox.finishDeliveries
        ? await storage.outbox.finishDeliveries(batch.map(({ outcome, audit }) => ({ outcome, audit })))
        : await Promise.all(batch.map(({ outcome, audit }) => storage.outbox.finishDelivery(outcome, audit)))
    } catch (failure) {
      if (batch.length === 1) {
        logger.error('a delivery outcome could not be recorded', {
          deliveryId: batch[0]?.outcome.id,
          error: String(failure),
        })
        return
      }
      // One bad outcome must not cost the others theirs: each again, on its own.
      for (const one of batch) await writeBatch([one])
      return
    }
    batch.forEach((queued, i) => {
      if (moved[i]) queued.recorded()
      // The claim lapsed (another dispatcher took the row) or the challenge was cancelled meanwhile.
      else
        logger.warn('a delivery outcome arrived after its claim ended', {
          deliveryId: queued.outcome.id,
          status: queued.outcome.to,
        })
    })
  }

  const drain = async () => {
    // The write begins at once (so a read that follows waits behind it, on SQLite's single connection);
    // outcomes arriving while it runs wait for the next batch, which begins as soon as it ends.
    while (queue.length > 0) {
      const batch = queue.slice(0, BATCH)
      queue = queue.slice(batch.length)
      try {
        await writeBatch(batch)
      } finally {
        for (const { outcome } of batch)
          if (states.get(outcome.id) === stateOf(outcome)) states.delete(outcome.id)
      }
    }
  }

  const start = () => {
    writing ??= drain()
      // writeBatch catches the storage's failures and logs them: only a host's logger that throws gets
      // here, and nothing is left to tell; an unhandled rejection would end the process.
      .catch(() => {})
      .finally(() => {
        writing = null
        if (queue.length > 0) start()
      })
    return writing
  }

  return {
    record(queued) {
      queue.push(queued)
      states.set(queued.outcome.id, stateOf(queued.outcome))
      void start()
    },
    pending: (deliveryId) => (deliveryId === null ? undefined : states.get(deliveryId)),
    track(send) {
      const settled = send.then(
        () => {},
        () => {},
      )
      sending.add(settled)
      void settled.then(() => sending.delete(settled))
    },
    async sendsEnded() {
      while (sending.size > 0) await Promise.all(sending)
    },
    async flush() {
      while (writing || queue.length > 0) await (writing ?? start())
    },
  }
}

const stateOf = (outcome: DeliveryOutcome): DeliveryState => (outcome.to === 'sent' ? 'sent' : 'failed')
