import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

// WAL checkpoints off the main thread (issue 16 item 4). By default SQLite checkpoints inside the commit
// that leaves the WAL 1,000 frames long: that commit copies every page into the database file and syncs
// it, on the thread that committed, which for better-sqlite3 is the event loop. Here the connection's
// automatic checkpoints are off (`wal_autocheckpoint = 0`) and a worker thread with a connection of its
// own checkpoints instead: PASSIVE every `intervalMs` (it never waits for readers or writers, and the
// writes go on beside it), and RESTART once the WAL is `restartFrames` long and a PASSIVE one could not
// finish, so that readers who never let go cannot make it grow without bound (better-sqlite3's docs,
// "Checkpoint starvation"). Should the worker stop, the connection checkpoints for itself again.

/** What one checkpoint did: SQLite's `wal_checkpoint` answer. */
export interface CheckpointResult {
  /** Whether it could not run to the end (another checkpoint, or RESTART waiting for readers). */
  readonly busy: boolean
  /** Frames in the WAL. */
  readonly log: number
  /** Frames copied into the database file, in all (a checkpoint skips those copied before). */
  readonly checkpointed: number
}

export interface WalCheckpointer {
  /** Checkpoints now (PASSIVE, or RESTART past the limit), on the worker; resolves with what it did. */
  now(): Promise<CheckpointResult>
  /** Stops the worker and waits for it; the connection checkpoints for itself from then on. */
  close(): Promise<void>
}

export interface WalCheckpointerOptions {
  /** Between two checkpoints. Default 200 ms. */
  readonly intervalMs?: number
  /** A WAL this long gets a RESTART checkpoint when a PASSIVE one could not finish. Default 10,000 frames. */
  readonly restartFrames?: number
  /** Milliseconds the worker's connection waits for a lock. Default 5000. */
  readonly busyTimeoutMs?: number
  /** Called when the worker fails; the connection has gone back to checkpointing for itself. */
  readonly onError?: (error: unknown) => void
}

/** The worker: plain JavaScript evaluated in the thread, so it runs the same from source and from dist. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.filename)
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs)
const checkpoint = () => {
  let [row] = db.pragma('wal_checkpoint(PASSIVE)')
  if (row.log >= workerData.restartFrames && row.checkpointed < row.log) [row] = db.pragma('wal_checkpoint(RESTART)')
  return { busy: row.busy === 1, log: row.log, checkpointed: row.checkpointed }
}
const timer = setInterval(checkpoint, workerData.intervalMs)
parentPort.on('message', (message) => {
  if (message.type === 'now') parentPort.postMessage({ id: message.id, result: checkpoint() })
  else if (message.type === 'stop') {
    clearInterval(timer)
    db.close()
    parentPort.close()
  }
})
`

/**
 * Starts the checkpointing worker for `filename`, whose connection `database` this process writes with;
 * turns that connection's own checkpoints off while the worker runs.
 */
export function startWalCheckpointer(
  database: { pragma(source: string): unknown },
  filename: string,
  options: WalCheckpointerOptions = {},
): WalCheckpointer {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      filename,
      intervalMs: options.intervalMs ?? 200,
      restartFrames: options.restartFrames ?? 10_000,
      busyTimeoutMs: Math.trunc(options.busyTimeoutMs ?? 5000),
    },
  })
  // The worker must not keep the process alive: close() is for an orderly stop.
  worker.unref()
  database.pragma('wal_autocheckpoint = 0')
  let running = true
  const asked = new Map<
    number,
    { resolve: (result: CheckpointResult) => void; reject: (e: unknown) => void }
  >()
  let nextId = 0
  const stopped = (error: unknown) => {
    if (!running) return
    running = false
    // SQLite's default again: this connection checkpoints when a commit leaves 1,000 frames.
    try {
      database.pragma('wal_autocheckpoint = 1000')
    } catch {
      // The connection is already closed.
    }
    for (const { reject } of asked.values()) reject(error)
    asked.clear()
  }
  worker.on('message', (message: { id: number; result: CheckpointResult }) => {
    asked.get(message.id)?.resolve(message.result)
    asked.delete(message.id)
  })
  worker.on('error', (error) => {
    stopped(error)
    options.onError?.(error)
  })
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  void exited.then(() => stopped(new Error('the checkpoint worker has stopped')))

  return {
    now() {
      if (!running) return Promise.reject(new Error('the checkpoint worker has stopped'))
      const id = nextId++
      return new Promise((resolve, reject) => {
        asked.set(id, { resolve, reject })
        worker.postMessage({ type: 'now', id })
      })
    },
    async close() {
      // Held until it has stopped: an unref'd worker is no reason to stay alive, so a process whose
      // last work is this close would exit in the middle of it, losing its exit code.
      worker.ref()
      if (running) worker.postMessage({ type: 'stop' })
      await exited
    },
  }
}
