import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { auditSealer, DEFAULT_SETTINGS } from '@flexsecure/core'
import { auditDraft } from '@flexsecure/core/conformance'
import BetterSqlite3 from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sqliteStorage } from './sqlite-storage.js'

// WAL checkpoints off the main thread, so no login waits behind one: the connection the engine writes
// with never checkpoints; a worker thread does, on its own connection.

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-wal-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

/**
 * Commits `count` transactions of one 4 KB row each on `database`: at least a WAL frame each. Without
 * a sync per commit (checkpoints do not depend on it): 2,500 fsyncs took over 5 s on a loaded machine.
 */
function write(database: BetterSqlite3.Database, count: number) {
  database.pragma('synchronous = OFF')
  database.exec('CREATE TABLE IF NOT EXISTS filler (body BLOB)')
  const insert = database.prepare('INSERT INTO filler (body) VALUES (randomblob(4000))')
  for (let i = 0; i < count; i++) insert.run()
}

/** An audit event of 3 KB, for writes that only need to fill the WAL. */
const filler = (accountId: string) => auditDraft(accountId, 'filler', { details: { body: 'x'.repeat(3000) } })

const walFrames = (filename: string, pageSize: number) =>
  Math.floor((statSync(`${filename}-wal`).size - 32) / (pageSize + 24))

describe('WAL checkpoints in a worker', () => {
  it('leaves the writing connection without checkpoints, and checkpoints the whole WAL on the worker', async () => {
    const filename = join(dir, 'db.sqlite')
    const database = new BetterSqlite3(filename)
    // A worker that checkpoints only when asked, so the test sees what the connection does alone.
    const storage = sqliteStorage({ database, walCheckpoints: { in: 'worker', intervalMs: 3_600_000 } })
    try {
      expect(database.pragma('wal_autocheckpoint', { simple: true })).toBe(0)
      const pageSize = database.pragma('page_size', { simple: true }) as number
      write(database, 2500)
      // With SQLite's default the commit that passed 1,000 frames would have checkpointed and the WAL
      // started over; here it has every frame since the first write.
      expect(walFrames(filename, pageSize)).toBeGreaterThan(2500)
      const result = await storage.walCheckpointer?.now()
      expect(result?.log).toBeGreaterThan(2500)
      expect(result).toMatchObject({ busy: false, checkpointed: result?.log })
      // Every frame is in the database file now, so the next write starts the WAL over.
      write(database, 1)
      expect((await storage.walCheckpointer?.now())?.log).toBeLessThan(10)
    } finally {
      await storage.close()
      database.close()
    }
  })

  it('starts the WAL over under writes that never pause, without the writer waiting on the worker', async () => {
    // Under sustained load a checkpoint never catches up with the writer on its own, so the WAL never
    // starts over: it had grown to 800 MB in a minute of logins. Past `restartFrames` the worker asks the
    // executor to hold its next batch, copies the last frames, and lets it go: the next write starts over.
    const filename = join(dir, 'db.sqlite')
    const database = new BetterSqlite3(filename)
    // No busy timeout: had the worker taken the write lock (RESTART does), a write would fail at once
    // rather than block the event loop unseen.
    const storage = sqliteStorage({
      database,
      synchronous: 'normal',
      busyTimeoutMs: 0,
      walCheckpoints: { in: 'worker', intervalMs: 5, restartFrames: 200 },
    })
    try {
      storage.sealAuditWith(auditSealer('wal-secret-wal-secret-wal-secret'))
      await storage.migrate()
      await storage.accounts.insertAccount({ id: 'acc', name: 'A', settings: DEFAULT_SETTINGS, createdAt: 0 })
      const draft = filler('acc')
      // The worker is up (it loads its driver first: on a busy machine longer than these writes take).
      await storage.walCheckpointer?.now()
      let longest = 0
      // 16 callers, each appending again as soon as it is answered: a batch is always open, so no pass
      // of the worker ends before the writer appends again.
      const caller = async (c: number) => {
        for (let i = 0; i < 200; i++) {
          await storage.audit.appendAudit([draft])
          if (c === 0 && i % 20 === 19)
            longest = Math.max(longest, (await storage.walCheckpointer?.now())?.log ?? 0)
        }
      }
      await Promise.all(Array.from({ length: 16 }, (_, c) => caller(c)))
      // 3,200 appends of two pages or more each: without the hold the WAL holds them all.
      expect(longest).toBeLessThan(1500)
      expect((await storage.audit.listAudit({ accountId: 'acc', after: 3199, limit: 5 })).length).toBe(1)
    } finally {
      await storage.close()
      database.close()
    }
  })

  it('asks for a few holds, not one a pass, while a reader elsewhere keeps the WAL from starting over', async () => {
    const filename = join(dir, 'db.sqlite')
    const database = new BetterSqlite3(filename)
    const storage = sqliteStorage({
      database,
      synchronous: 'normal',
      walCheckpoints: { in: 'worker', intervalMs: 5, restartFrames: 200, holdTimeoutMs: 20 },
    })
    const reader = new BetterSqlite3(filename, { readonly: true })
    try {
      storage.sealAuditWith(auditSealer('wal-secret-wal-secret-wal-secret'))
      await storage.migrate()
      await storage.accounts.insertAccount({ id: 'acc', name: 'A', settings: DEFAULT_SETTINGS, createdAt: 0 })
      // Another connection (another process, say) in the middle of a read: its snapshot is where the WAL
      // was, so no checkpoint can copy past it and the WAL cannot start over.
      // The worker is up (it loads its driver first: on a busy machine longer than these writes take).
      await storage.walCheckpointer?.now()
      reader.exec('BEGIN')
      reader.prepare('SELECT count(*) FROM fs_audit_events').get()
      const fill = filler('acc')
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = 0; i < 100; i++) await storage.audit.appendAudit([fill])
        }),
      )
      // The WAL grew past 3,000 frames; after each hold that could not finish, the next waits for twice
      // the length (200, 400, … 6,400). One hold every pass would have been dozens.
      expect(storage.walCheckpointer?.holds).toBeGreaterThan(0)
      expect(storage.walCheckpointer?.holds).toBeLessThanOrEqual(8)
      expect((await storage.audit.listAudit({ accountId: 'acc', after: 1599, limit: 5 })).length).toBe(1)
    } finally {
      reader.close()
      await storage.close()
      database.close()
    }
  })

  it('gives the connection its own checkpoints back once the worker stops', async () => {
    const filename = join(dir, 'db.sqlite')
    const database = new BetterSqlite3(filename)
    const storage = sqliteStorage({ database, walCheckpoints: 'worker' })
    expect(database.pragma('wal_autocheckpoint', { simple: true })).toBe(0)
    await storage.walCheckpointer?.close()
    expect(database.pragma('wal_autocheckpoint', { simple: true })).toBe(1000)
    await expect(storage.walCheckpointer?.now()).rejects.toThrow('stopped')
    await storage.close()
    database.close()
  })

  it('runs no worker unless asked, nor for a database in memory', async () => {
    const plain = sqliteStorage({ filename: join(dir, 'plain.sqlite') })
    const memory = sqliteStorage({ walCheckpoints: 'worker' })
    expect([plain.walCheckpointer, memory.walCheckpointer]).toEqual([undefined, undefined])
    await plain.close()
    await memory.close()
  })
})
