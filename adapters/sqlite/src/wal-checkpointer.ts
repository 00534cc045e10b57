import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

// WAL checkpoints off the main thread (issue 16 item 4). By default SQLite checkpoints inside the commit
// that leaves the WAL 1,000 frames long: that commit copies every page into the database file and syncs
// it, on the thread that committed, which for better-sqlite3 is the event loop. Here the connection's
// automatic checkpoints are off (`wal_autocheckpoint = 0`) and a worker thread with a connection of its
// own checkpoints instead: PASSIVE every `intervalMs` (it never waits for readers or writers, and the
// writes go on beside it). A WAL starts over only when a writer begins while every frame is copied; under
// load that never pauses no pass catches up (the WAL had grown to 800 MB in a minute of logins), so once
// the WAL is `restartFrames` long and a pass could not finish, the worker asks the executor to hold its
// next batch (`beforeBatch`), copies the last frames (RESTART, waiting briefly, if a reader in another
// process keeps PASSIVE from finishing: better-sqlite3's docs, "Checkpoint starvation") and lets it go;
// the writer's next transaction starts the WAL over, and truncates the file to `journal_size_limit`. This
// process's writer never blocks on a lock for it: it waits, asynchronously, a few milliseconds once per
// `restartFrames` (a writer in another process on the same file may wait for the RESTART, up to
// `holdTimeoutMs`). A hold that could not finish (a reader elsewhere on an old snapshot) makes the next
// wait for a WAL twice as long. Should the worker stop, the connection checkpoints for itself again.

/** Bytes a WAL file keeps once started over (64 MiB): SQLite's default keeps the longest it ever was. */
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024

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
  /** Checkpoints now (PASSIVE, asking for a hold past the limit), on the worker; resolves with what it did. */
  now(): Promise<CheckpointResult>
  /**
   * Called by the executor before it begins a batch, with no transaction open: when the worker asked for a
   * hold, a promise that resolves once it has copied the WAL to its end (the batch then starts it over).
   */
  beforeBatch(): Promise<void> | undefined
  /** Holds the worker has asked for so far. */
  readonly holds: number
  /** Stops the worker and waits for it; the connection checkpoints for itself from then on. */
  close(): Promise<void>
}

export interface WalCheckpointerOptions {
  /** Between two checkpoints. Default 200 ms. */
  readonly intervalMs?: number
  /**
   * A WAL this long is started over (the writer held while the worker copies its last frames) when a
   * PASSIVE pass could not finish. Default 10,000 frames (about 40 MB).
   */
  readonly restartFrames?: number
  /** The longest a hold waits for another process's reader before the batch goes on. Default 100 ms. */
  readonly holdTimeoutMs?: number
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
let holding = false
// After a hold that could not finish (another process reading an old snapshot, or writing), the next one
// waits until the WAL is twice as long, so such a reader costs a few holds, not one every pass.
let holdAt = workerData.restartFrames
const checkpoint = () => {
  const [row] = db.pragma('wal_checkpoint(PASSIVE)')
  // Another connection checkpointing answers busy, with -1 for both counts: nothing to go by.
  if (row.busy === 1 || row.log < 0) return { busy: true, log: row.log, checkpointed: row.checkpointed }
  if (row.log < workerData.restartFrames) holdAt = workerData.restartFrames
  // A long WAL: under load a pass ends with the writer's next batch already open, which appends to the
  // WAL again, so it never starts over. Ask the writer to hold its next batch ('hold'), and copy the
  // rest once it has ('held'). Even after a pass that copied every frame: the writer's batch open by
  // then keeps the WAL from starting over all the same (without the hold for such passes, the test of
  // writes that never pause saw the WAL reach 3,360 frames against a limit of 200).
  if (row.log >= holdAt && !holding) {
    holding = true
    parentPort.postMessage({ type: 'hold' })
  }
  return { busy: row.busy === 1, log: row.log, checkpointed: row.checkpointed }
}
// The writer is holding: the last frames are copied, so its next transaction starts the WAL over. A
// reader in another process can keep a PASSIVE pass from finishing; RESTART then waits for it, briefly.
const finish = () => {
  let [row] = db.pragma('wal_checkpoint(PASSIVE)')
  if (row.checkpointed < row.log) {
    db.pragma('busy_timeout = ' + workerData.holdTimeoutMs)
    try {
      ;[row] = db.pragma('wal_checkpoint(RESTART)')
    } finally {
      db.pragma('busy_timeout = ' + workerData.busyTimeoutMs)
    }
  }
  holding = false
  const finished = row.busy !== 1 && row.log >= 0 && row.checkpointed === row.log
  holdAt = finished ? workerData.restartFrames : Math.max(row.log, holdAt) * 2
  parentPort.postMessage({ type: 'release' })
}
const timer = setInterval(checkpoint, workerData.intervalMs)
parentPort.on('message', (message) => {
  if (message.type === 'now') parentPort.postMessage({ id: message.id, result: checkpoint() })
  else if (message.type === 'held') finish()
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
      holdTimeoutMs: Math.trunc(options.holdTimeoutMs ?? 100),
    },
  })
  // The worker must not keep the process alive: close() is for an orderly stop.
  worker.unref()
  database.pragma('wal_autocheckpoint = 0')
  // A WAL started over is cut back to this, not left at the longest it ever was.
  database.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`)
  let running = true
  const asked = new Map<
    number,
    { resolve: (result: CheckpointResult) => void; reject: (e: unknown) => void }
  >()
  let nextId = 0
  // A hold the worker asked for: `asked` until the executor is between batches, then `held` until the
  // worker has copied the WAL to its end.
  let hold: {
    state: 'asked' | 'held'
    readonly released: Promise<void>
    readonly release: () => void
  } | null = null
  let holds = 0
  const releaseHold = () => {
    hold?.release()
    hold = null
  }
  const stopped = (error: unknown) => {
    if (!running) return
    running = false
    releaseHold()
    // SQLite's default again: this connection checkpoints when a commit leaves 1,000 frames.
    try {
      database.pragma('wal_autocheckpoint = 1000')
    } catch {
      // The connection is already closed.
    }
    for (const { reject } of asked.values()) reject(error)
    asked.clear()
  }
  worker.on('message', (message: { type?: 'hold' | 'release'; id: number; result: CheckpointResult }) => {
    if (message.type === 'hold') {
      // A hold asked just before the worker failed: nobody would release it.
      if (!running) return
      holds += 1
      let release = () => {}
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      hold = { state: 'asked', released, release }
    } else if (message.type === 'release') releaseHold()
    else {
      asked.get(message.id)?.resolve(message.result)
      asked.delete(message.id)
    }
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
    get holds() {
      return holds
    },
    beforeBatch() {
      if (!hold || !running) return undefined
      if (hold.state === 'asked') {
        hold.state = 'held'
        worker.postMessage({ type: 'held' })
      }
      return hold.released
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
