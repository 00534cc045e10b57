// Durable commits off the event loop (group-commit.ts with a connection that syncs): COMMIT does not wait
// for the disk, a sync does, and only the callers who need it wait for that sync (S37); the others are
// answered at COMMIT, and their commit is synced in the background by the next sync, started within a
// few milliseconds. The sync here is a promise the test settles, so "answered before the disk" is
// observable rather than timed, and the delay runs on vitest's fake clock.
import { readdirSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { DEFERRED, groupCommitExecutor } from '@flexsecure/kysely'
import type BetterSqlite3 from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { openWalTable, turns, type WalTable, watch } from '../test/sync-fixture.js'
import { sqliteExecutor } from './sqlite-executor.js'

let table: WalTable
let dir: string
let db: BetterSqlite3.Database
/** Syncs asked for and not yet settled by the test, oldest first. */
let pendingSyncs: { resolve: () => void; reject: (error: Error) => void }[]

beforeEach(() => {
  table = openWalTable('flexsecure-sync-')
  ;({ dir, db } = table)
  pendingSyncs = []
  // Only the delay's timers: the executor's turns (setImmediate) stay real.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
})
afterEach(() => {
  vi.clearAllTimers()
  vi.useRealTimers()
  table.close()
})

function executor(options: { deferred?: boolean; deferredSyncDelayMs?: number } = {}) {
  return groupCommitExecutor(
    {
      all: <Row>(sql: string, parameters: readonly unknown[]) => db.prepare(sql).all(...parameters) as Row[],
      run: (sql, parameters) => db.prepare(sql).run(...parameters).changes,
      inTransaction: () => db.inTransaction,
      sync: () => new Promise<void>((resolve, reject) => pendingSyncs.push({ resolve, reject })),
    },
    options,
  )
}

const visible = () => table.visible()

describe('durable commits off the event loop', () => {
  it('answers a transaction only once a sync begun after its COMMIT has finished', async () => {
    const exec = executor()
    const write = watch(exec.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', ['a'])))
    await turns()
    expect(visible()).toEqual(['a']) // committed...
    expect(pendingSyncs).toHaveLength(1)
    expect(write.settled).toBe(false) // ...but not answered while the disk has not confirmed it
    pendingSyncs.shift()?.resolve()
    await turns()
    expect(write).toMatchObject({ settled: true, ok: true, value: 1 })
  })

  it('runs the next batch while a sync is running, and answers it only after a sync of its own', async () => {
    const exec = executor()
    const first = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['a']))
    await turns()
    const second = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['b']))
    await turns()
    expect(visible()).toEqual(['a', 'b']) // the second batch committed during the first sync
    expect(pendingSyncs).toHaveLength(1) // its sync waits for the running one: it must begin after
    pendingSyncs.shift()?.resolve()
    await turns()
    expect(first.settled).toBe(true)
    expect(second.settled).toBe(false)
    expect(pendingSyncs).toHaveLength(1)
    pendingSyncs.shift()?.resolve()
    await turns()
    expect(second.settled).toBe(true)
  })

  it('answers a deferred write at its COMMIT and syncs it when the delay runs out', async () => {
    const exec = executor()
    const write = watch(exec.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', ['a']), DEFERRED))
    const single = watch(exec.all('UPDATE t SET v = ? RETURNING v', ['b'], DEFERRED))
    await turns()
    expect(write).toMatchObject({ settled: true, ok: true })
    expect(single).toMatchObject({ settled: true, ok: true, value: [{ v: 'b' }] })
    expect(pendingSyncs).toHaveLength(0) // nobody waits for it: it may wait for a sync someone needs
    vi.advanceTimersByTime(4)
    expect(pendingSyncs).toHaveLength(0)
    // Nobody needed one within the delay (5 ms by default): its own sync starts, so a power loss can
    // undo it only until then.
    vi.advanceTimersByTime(1)
    expect(pendingSyncs).toHaveLength(1)
    pendingSyncs.shift()?.resolve()
  })

  it('syncs deferred writes with the next durable one, in one sync', async () => {
    const exec = executor()
    const deferred = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['a'], DEFERRED))
    await turns()
    expect(deferred.settled).toBe(true)
    const durable = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['b']))
    await turns()
    expect(pendingSyncs).toHaveLength(1) // began after both COMMITs, so it writes both
    vi.advanceTimersByTime(10)
    expect(pendingSyncs).toHaveLength(1) // and the deferred write's delayed sync was dropped
    pendingSyncs.shift()?.resolve()
    await turns()
    expect(durable.settled).toBe(true)
    expect(exec.stats.syncs).toBe(1)
  })

  it('does not put the sync off when more deferred writes come within the delay', async () => {
    const exec = executor()
    await exec.run('INSERT INTO t (v) VALUES (?)', ['a'], DEFERRED)
    vi.advanceTimersByTime(3)
    await exec.run('INSERT INTO t (v) VALUES (?)', ['b'], DEFERRED)
    vi.advanceTimersByTime(2)
    // 5 ms after the first: a stream of deferred writes cannot keep their sync from starting.
    expect(pendingSyncs).toHaveLength(1)
    pendingSyncs.shift()?.resolve()
  })

  it('syncs a deferred write made during a sync with one that begins after it, and flushes it', async () => {
    const exec = executor()
    const durable = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['a']))
    await turns()
    expect(pendingSyncs).toHaveLength(1) // running, begun before the deferred write below
    await exec.run('INSERT INTO t (v) VALUES (?)', ['b'], DEFERRED)
    vi.advanceTimersByTime(5) // its delay runs out while that sync still runs
    expect(pendingSyncs).toHaveLength(1)
    const flushed = watch(exec.flush())
    pendingSyncs.shift()?.resolve()
    await turns()
    expect(durable.settled).toBe(true)
    // The running sync may have missed the deferred write: a second one, begun after it, must follow,
    // and the flush waits for it.
    expect(pendingSyncs).toHaveLength(1)
    expect(flushed.settled).toBe(false)
    pendingSyncs.shift()?.resolve()
    await turns()
    expect(flushed).toMatchObject({ settled: true, ok: true })
  })

  it('syncs a deferred write at once with no delay', async () => {
    const exec = executor({ deferredSyncDelayMs: 0 })
    const write = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['a'], DEFERRED))
    await turns()
    expect(write.settled).toBe(true)
    expect(pendingSyncs).toHaveLength(1)
    pendingSyncs.shift()?.resolve()
  })

  it('syncs a delayed deferred write when flushed, as closing the storage does', async () => {
    const exec = executor()
    await exec.run('INSERT INTO t (v) VALUES (?)', ['a'], DEFERRED)
    const flushed = watch(exec.flush())
    await turns()
    expect(pendingSyncs).toHaveLength(1) // started by the flush: the delay's timer has not run
    expect(flushed.settled).toBe(false) // the flush waits for the disk
    pendingSyncs.shift()?.resolve()
    await turns()
    expect(flushed).toMatchObject({ settled: true, ok: true })
    vi.advanceTimersByTime(10)
    expect(pendingSyncs).toHaveLength(0) // nothing left to sync
  })

  it('fails the next durable caller when a delayed sync failed', async () => {
    const exec = executor()
    await exec.run('INSERT INTO t (v) VALUES (?)', ['a'], DEFERRED)
    vi.advanceTimersByTime(5)
    pendingSyncs.shift()?.reject(new Error('EIO: i/o error, fdatasync'))
    await turns()
    const later = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['b']))
    await turns()
    expect(pendingSyncs).toHaveLength(0)
    expect(later).toMatchObject({ settled: true, ok: false })
    expect(String(later.error)).toMatch(/EIO/)
  })

  it('makes deferred writes wait for the disk like the others when told to', async () => {
    const exec = executor({ deferred: false })
    const write = watch(exec.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', ['a']), DEFERRED))
    await turns()
    expect(write.settled).toBe(false)
    pendingSyncs.shift()?.resolve()
    await turns()
    expect(write.settled).toBe(true)
  })

  it('fails the callers of a failed sync, and every later caller who needs the disk', async () => {
    const exec = executor()
    const first = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['a']))
    await turns()
    pendingSyncs.shift()?.reject(new Error('EIO: i/o error, fdatasync'))
    await turns()
    expect(first).toMatchObject({ settled: true, ok: false })
    // A later sync may succeed without the pages the failed one dropped: nothing after it is durable.
    const later = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['b']))
    await turns()
    expect(pendingSyncs).toHaveLength(0)
    expect(later).toMatchObject({ settled: true, ok: false })
    expect(String(later.error)).toMatch(/EIO/)
    // What needs no sync before its answer still works.
    expect(await exec.run('INSERT INTO t (v) VALUES (?)', ['c'], DEFERRED)).toBe(1)
  })

  it('fails a flush after a failed sync: a commit made after it was never made durable', async () => {
    const exec = executor({ deferredSyncDelayMs: 0 })
    const first = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['a']))
    await turns()
    pendingSyncs.shift()?.reject(new Error('EIO: i/o error, fdatasync'))
    await turns()
    expect(first).toMatchObject({ settled: true, ok: false })
    // Answered at its COMMIT, as a deferred write is; no sync can make it durable any more.
    expect(await exec.run('INSERT INTO t (v) VALUES (?)', ['b'], DEFERRED)).toBe(1)
    await turns()
    await expect(exec.flush()).rejects.toThrow(/EIO/)
  })

  it('waits for the writes still queued when flushed, and syncs them', async () => {
    const exec = executor()
    // Queued, not yet run: its batch begins on the event loop's next turn.
    const write = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['a'], DEFERRED))
    const flushed = watch(exec.flush())
    await turns()
    expect(write).toMatchObject({ settled: true, ok: true })
    expect(pendingSyncs).toHaveLength(1) // started by the flush, not left to the delay
    expect(flushed.settled).toBe(false)
    pendingSyncs.shift()?.resolve()
    await turns()
    expect(flushed).toMatchObject({ settled: true, ok: true })
  })

  it('sends a write whose SQL begins with a CTE or a comment through a batch and its sync', async () => {
    const exec = executor()
    const withCte = watch(
      exec.all("WITH v(x) AS (SELECT 'a') INSERT INTO t (v) SELECT x FROM v RETURNING v", []),
    )
    const commented = watch(exec.all("/* a note */ INSERT INTO t (v) VALUES ('b') RETURNING v", []))
    await turns()
    // Not answered from autocommit: both wait for the sync of their batch.
    expect(withCte.settled).toBe(false)
    expect(commented.settled).toBe(false)
    expect(pendingSyncs).toHaveLength(1)
    pendingSyncs.shift()?.resolve()
    await turns()
    expect(withCte).toMatchObject({ settled: true, ok: true })
    expect(commented).toMatchObject({ settled: true, ok: true })
    expect(visible()).toEqual(['a', 'b'])
  })

  it('lets the event loop turn between batches while callers keep feeding them', async () => {
    const exec = executor()
    let turned = false
    const answeredBeforeTheTurn: number[] = []
    // A chain of writes, each started by the answer to the one before: without a turn between batches
    // the whole chain would run from microtasks, and nothing else (timers, I/O, syncs) could run.
    const chain = (async () => {
      for (let i = 0; i < 20; i++) {
        await exec.run('INSERT INTO t (v) VALUES (?)', [`v${i}`], DEFERRED)
        if (!turned) answeredBeforeTheTurn.push(i)
      }
    })()
    await new Promise((resolve) => setImmediate(resolve))
    setImmediate(() => {
      turned = true
    })
    await chain
    expect(turned).toBe(true)
    expect(answeredBeforeTheTurn.length).toBeLessThan(20)
    for (const sync of pendingSyncs) sync.resolve()
  })
})

describe('the WAL syncer', () => {
  /** Descriptors this process holds on the WAL file (SQLite's own among them). */
  const walDescriptors = () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).endsWith('s.db-wal')
      } catch {
        return false
      }
    }).length

  it.runIf(process.platform === 'linux')(
    'refuses a write that comes after the close, and keeps no handle open (Linux: counts /proc/self/fd)',
    async () => {
      const exec = sqliteExecutor(db, { walFile: join(dir, 's.db-wal') })
      await exec.run('INSERT INTO t (v) VALUES (?)', ['a'])
      await exec.close()
      const before = walDescriptors()
      // A send answering after the engine's close wait: its outcome is not written, nor half written.
      await expect(exec.run('INSERT INTO t (v) VALUES (?)', ['b'], DEFERRED)).rejects.toThrow(/closed/)
      await exec.flush()
      expect(walDescriptors()).toBe(before)
      expect(db.prepare('SELECT v FROM t').pluck().all()).toEqual(['a'])
    },
  )

  it('syncs before the close returns a write still queued when it was called', async () => {
    const exec = sqliteExecutor(db, { walFile: join(dir, 's.db-wal') })
    await exec.run('INSERT INTO t (v) VALUES (?)', ['a'])
    const syncsBefore = exec.stats.syncs
    // Queued when the close begins: it commits during the close, and the close must sync it.
    const write = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['b'], DEFERRED))
    await exec.close()
    expect(write).toMatchObject({ settled: true, ok: true })
    expect(exec.stats.syncs - syncsBefore).toBe(1)
  })
})
