// What the tests of the executor's syncs share (deferred-sync.test.ts, inline-sync.test.ts): a WAL file
// with one table, written by one connection and read by another (what is committed, whoever synced it),
// the event loop's turns the executor's batches wait for, and a watch on a promise's settling, so that
// "answered before the disk" is observed rather than timed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'

export interface WalTable {
  readonly dir: string
  /** The writer, at synchronous=NORMAL: COMMIT waits for no disk, as under the executor's own syncs. */
  readonly db: BetterSqlite3.Database
  /** The values of table `t` in order, read by another connection: what has been committed. */
  visible(): string[]
  close(): void
}

/** A fresh `s.db` in WAL mode with `t (id, v)`, in a directory of its own that `close()` removes. */
export function openWalTable(prefix: string): WalTable {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const db = new BetterSqlite3(join(dir, 's.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)')
  const other = new BetterSqlite3(join(dir, 's.db'), { readonly: true })
  return {
    dir,
    db,
    visible: () => (other.prepare('SELECT v FROM t ORDER BY id').all() as { v: string }[]).map((r) => r.v),
    close() {
      other.close()
      db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Lets the executor's batches run (each waits for the event loop's next turn). */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Tracks whether a promise has settled, and how. */
export function watch<T>(promise: Promise<T>) {
  const state = { settled: false, ok: false, value: undefined as T | undefined, error: undefined as unknown }
  promise.then(
    (value) => Object.assign(state, { settled: true, ok: true, value }),
    (error) => Object.assign(state, { settled: true, ok: false, error }),
  )
  return state
}
