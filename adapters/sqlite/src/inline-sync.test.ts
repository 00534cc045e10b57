// Syncs on the event loop's thread while commits come one at a time (group-commit.ts with a connection
// that has `syncNow`, sync-placement.ts): the pool's syncs here are promises the test settles and the
// inline one a function that records what was committed when it ran, so "synced after its COMMIT,
// answered after the sync" is observed, not timed. The clock is the test's: every sync takes 0.2 ms.
import { join } from 'node:path'
import { createEngine } from '@flexsecure/core'
import { DEFERRED, groupCommitExecutor } from '@flexsecure/kysely'
import BetterSqlite3 from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { openWalTable, turns, type WalTable, watch } from '../test/sync-fixture.js'
import { sqliteExecutor } from './sqlite-executor.js'
import { sqliteStorage } from './sqlite-storage.js'

let table: WalTable
let dir: string
let db: BetterSqlite3.Database
let pendingSyncs: { resolve: () => void; reject: (error: Error) => void }[]
/** What another connection saw of the table at each inline sync. */
let inlineSaw: string[][]
let inlineFails: Error | undefined
let now: number

beforeEach(() => {
  table = openWalTable('flexsecure-inline-')
  ;({ dir, db } = table)
  pendingSyncs = []
  inlineSaw = []
  inlineFails = undefined
  now = 0
})
afterEach(() => table.close())

const visible = () => table.visible()

function executor(options: { inlineSyncs?: boolean } = {}) {
  return groupCommitExecutor(
    {
      all: <Row>(sql: string, parameters: readonly unknown[]) => db.prepare(sql).all(...parameters) as Row[],
      run: (sql, parameters) => db.prepare(sql).run(...parameters).changes,
      inTransaction: () => db.inTransaction,
      sync: () => {
        now += 0.2
        return new Promise<void>((resolve, reject) => pendingSyncs.push({ resolve, reject }))
      },
      syncNow: () => {
        now += 0.2
        if (inlineFails) throw inlineFails
        inlineSaw.push(visible())
        return true
      },
    },
    { ...options, clock: () => now },
  )
}

/** `n` durable writes one after another, each answered before the next begins; pool syncs settled. */
async function oneAtATime(exec: ReturnType<typeof executor>, n: number, from = 0) {
  for (let i = from; i < from + n; i++) {
    const write = watch(exec.run('INSERT INTO t (v) VALUES (?)', [`w${i}`]))
    await turns()
    pendingSyncs.shift()?.resolve()
    await turns()
    expect(write).toMatchObject({ settled: true, ok: true })
  }
}

describe('syncs on the calling thread while commits come one at a time', () => {
  it('moves the sync inline after 16 quiet syncs on the pool, after the COMMIT and before the answer', async () => {
    const exec = executor()
    await oneAtATime(exec, 16)
    expect(exec.stats).toMatchObject({ syncs: 16, inlineSyncs: 0 })
    const write = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['a']))
    await turns()
    expect(pendingSyncs).toHaveLength(0) // no sync on the pool: it ran on this thread...
    expect(inlineSaw.at(-1)?.at(-1)).toBe('a') // ...once the write was committed
    expect(write).toMatchObject({ settled: true, ok: true })
    expect(exec.stats).toMatchObject({ syncs: 17, inlineSyncs: 1 })
  })

  it('goes back to the pool when another commit comes during a probe on the pool', async () => {
    const exec = executor()
    await oneAtATime(exec, 16 + 7, 0)
    expect(exec.stats).toMatchObject({ syncs: 23, inlineSyncs: 7 })
    // The eighth: a probe on the pool, and meanwhile another caller's transaction commits.
    const probed = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['probed']))
    await turns()
    expect(pendingSyncs).toHaveLength(1)
    const overlapping = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['overlapping']))
    await turns()
    pendingSyncs.shift()?.resolve()
    await turns()
    expect(probed.settled).toBe(true)
    expect(overlapping.settled).toBe(false) // its own sync, on the pool, follows the probe's
    expect(pendingSyncs).toHaveLength(1)
    pendingSyncs.shift()?.resolve()
    await turns()
    expect(overlapping.settled).toBe(true)
    // Commits overlapped: syncs go to the pool until 16 in a row were quiet again (the overlapping
    // write's own is the first), and only then inline.
    const inlineBefore = exec.stats.inlineSyncs
    await oneAtATime(exec, 15, 100)
    expect(exec.stats.inlineSyncs).toBe(inlineBefore)
    await oneAtATime(exec, 1, 200)
    expect(exec.stats.inlineSyncs).toBe(inlineBefore + 1)
  })

  it('fails the caller and every later durable write when an inline sync fails', async () => {
    const exec = executor()
    await oneAtATime(exec, 16)
    inlineFails = new Error('EIO: i/o error, fdatasync')
    const failed = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['a']))
    await turns()
    expect(failed).toMatchObject({ settled: true, ok: false })
    inlineFails = undefined
    const later = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['b']))
    await turns()
    expect(later).toMatchObject({ settled: true, ok: false })
    expect(String(later.error)).toMatch(/EIO/)
  })

  it('never blocks the loop for a sync that nobody waits for', async () => {
    const exec = executor()
    await oneAtATime(exec, 16)
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const deferred = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['a'], DEFERRED))
      await turns()
      expect(deferred.settled).toBe(true) // answered at its COMMIT...
      vi.advanceTimersByTime(5)
      // ...and synced when its delay ran out: on the pool, though a durable write would now sync inline.
      expect(pendingSyncs).toHaveLength(1)
      expect(inlineSaw).toHaveLength(0)
      pendingSyncs.shift()?.resolve()
      await turns()
      const durable = watch(exec.run('INSERT INTO t (v) VALUES (?)', ['b']))
      await turns()
      expect(durable.settled).toBe(true)
      expect(inlineSaw).toHaveLength(1)
    } finally {
      vi.useRealTimers()
    }
  })

  it('never syncs inline when told not to', async () => {
    const exec = executor({ inlineSyncs: false })
    await oneAtATime(exec, 40)
    expect(exec.stats).toMatchObject({ syncs: 40, inlineSyncs: 0 })
    expect(inlineSaw).toHaveLength(0)
  })
})

describe('the SQLite executor syncing its WAL inline', () => {
  it('syncs on the calling thread once its writes come one at a time, and keeps every write', async () => {
    const file = join(dir, 'real.db')
    const real = new BetterSqlite3(file)
    real.pragma('journal_mode = WAL')
    real.pragma('synchronous = NORMAL')
    real.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)')
    // Any disk's syncs count as fast here: what is tested is that the sync runs inline, not this disk.
    const exec = sqliteExecutor(real, { walFile: `${file}-wal`, inlineSyncs: { limitMs: 60_000 } })
    try {
      for (let i = 0; i < 40; i++) await exec.run('INSERT INTO t (v) VALUES (?)', [`w${i}`])
      // The first 16 on the pool, then 7 inline and a probe on the pool, which found the loop quiet: the
      // next probe comes 16 syncs later (sync-placement.ts), so 15 more inline and the 40th a probe.
      expect(exec.stats).toMatchObject({ syncs: 40, inlineSyncs: 22 })
      expect(real.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 40 })
    } finally {
      await exec.close()
      real.close()
    }
  })
})

describe("the SQLite storage's commit counters (the server's /metrics)", () => {
  it("counts a file's commits, the transactions in them and where each sync ran", async () => {
    const storage = sqliteStorage({ filename: join(dir, 'counted.db') })
    try {
      await storage.migrate()
      const before = storage.commitStats()
      const engine = createEngine({
        storage,
        notifier: { send: async () => ({ providerId: null }) },
        secret: 's'.repeat(32),
        links: { baseUrl: 'https://auth.example.com' },
        background: false,
      })
      for (let i = 0; i < 20; i++) await engine.accounts.create({ name: `A${i}` })
      const after = storage.commitStats()
      // Each account is at least one transaction, committed one after another, each synced.
      expect(after.jobs - before.jobs).toBeGreaterThanOrEqual(20)
      expect(after.batches - before.batches).toBeGreaterThanOrEqual(20)
      expect(after.syncs - before.syncs).toBeGreaterThanOrEqual(20)
      expect(after.inlineSyncs).toBeLessThanOrEqual(after.syncs)
      // A copy: what the caller holds does not move under it.
      expect(storage.commitStats()).toEqual(after)
      expect(after).not.toBe(storage.commitStats())
      await engine.close()
    } finally {
      await storage.close().catch(() => {})
    }
  })
})
