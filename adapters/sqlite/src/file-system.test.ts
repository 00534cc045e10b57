// Where the database file lives and whose connection it is: a path through a symbolic link, a file system
// that refuses to sync a directory, a connection from another copy of better-sqlite3, a connection the
// caller keeps. In each, every durable write must be answered truly (found by review, 2026-12-06).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { auditSealer, DEFAULT_SETTINGS } from '@flexsecure/core'
import BetterSqlite3 from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { TEST_SECRET } from '../test/engine-fixture.js'
import { sqliteStorage } from './sqlite-storage.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-fs-'))
})
afterEach(() => {
  vi.restoreAllMocks()
  rmSync(dir, { recursive: true, force: true })
})

async function migrated(storage: ReturnType<typeof sqliteStorage>) {
  storage.sealAuditWith(auditSealer(TEST_SECRET))
  await storage.migrate()
  return storage
}

const account = (id: string) => ({ id, name: id, settings: DEFAULT_SETTINGS, createdAt: 0 })

/** FileHandle's prototype, to spy on what every handle of `fs/promises` does. */
async function fileHandlePrototype(): Promise<{ sync(): Promise<void>; datasync(): Promise<void> }> {
  const any = await open(dir, 'r')
  await any.close()
  return Object.getPrototypeOf(any)
}

describe('SQLite storage on the file system', () => {
  it('syncs the WAL SQLite writes when the database path is a symbolic link', async () => {
    // SQLite resolves the link and writes `<target>-wal` beside the target; a WAL named after the link
    // does not exist, and every durable write failed with ENOENT though it had committed.
    mkdirSync(join(dir, 'real'))
    mkdirSync(join(dir, 'links'))
    symlinkSync(join(dir, 'real', 'db.sqlite'), join(dir, 'links', 'db.sqlite'))
    const storage = await migrated(sqliteStorage({ filename: join(dir, 'links', 'db.sqlite') }))
    try {
      await expect(storage.accounts.insertAccount(account('acme'))).resolves.toBeUndefined()
      expect(await storage.accounts.getAccount('acme')).toMatchObject({ id: 'acme' })
    } finally {
      await storage.close()
    }
  })

  it('goes on when the file system refuses to sync a directory, as SQLite does', async () => {
    // VirtualBox shared folders and some FUSE and network mounts answer EINVAL; the first refusal was
    // kept, so every durable write after it failed.
    const prototype = await fileHandlePrototype()
    const sync = prototype.sync
    let refusals = 0
    vi.spyOn(prototype, 'sync').mockImplementation(async function (this: {
      stat(): Promise<{ isDirectory(): boolean }>
    }) {
      if ((await this.stat()).isDirectory()) {
        refusals += 1
        throw Object.assign(new Error('EINVAL: invalid argument, fsync'), { code: 'EINVAL' })
      }
      return sync.call(this)
    })
    const storage = await migrated(sqliteStorage({ filename: join(dir, 'db.sqlite') }))
    try {
      for (const id of ['a', 'b', 'c'])
        await expect(storage.accounts.insertAccount(account(id))).resolves.toBeUndefined()
      expect(refusals).toBeGreaterThan(0)
    } finally {
      await storage.close()
    }
  })

  it('opens the WAL again for the next sync after an open that failed', async () => {
    // EMFILE for a moment: nothing was handed to the disk, so it is no failed sync, which would be final.
    const promises = createRequire(import.meta.url)('node:fs/promises') as typeof import('node:fs/promises')
    const realOpen = promises.open
    let refused = 0
    vi.spyOn(promises, 'open').mockImplementation(async (...args: Parameters<typeof open>) => {
      if (refused === 0 && String(args[0]).endsWith('-wal')) {
        refused += 1
        throw Object.assign(new Error('EMFILE: too many open files, open'), { code: 'EMFILE' })
      }
      return realOpen(...args)
    })
    syncBuiltinESMExports()
    const storage = sqliteStorage({ filename: join(dir, 'db.sqlite') })
    storage.sealAuditWith(auditSealer(TEST_SECRET))
    try {
      // The first sync is the migrations': its WAL cannot be opened.
      await expect(storage.migrate()).rejects.toThrow(/EMFILE/)
      expect(refused).toBe(1)
      await expect(storage.accounts.insertAccount(account('acme'))).resolves.toBeUndefined()
    } finally {
      vi.restoreAllMocks()
      syncBuiltinESMExports()
      await storage.close()
    }
  })

  it("restores the caller's own connection to its synchronous setting at the close", async () => {
    const database = new BetterSqlite3(join(dir, 'own.db'))
    try {
      database.pragma('synchronous = FULL')
      const storage = await migrated(sqliteStorage({ database }))
      // While open, the executor syncs the WAL itself and SQLite runs at NORMAL.
      expect(database.pragma('synchronous', { simple: true })).toBe(1)
      await storage.close()
      expect(database.open).toBe(true)
      expect(database.pragma('synchronous', { simple: true })).toBe(2)
    } finally {
      database.close()
    }
  })

  it('keeps checkpoints on the connection when it comes from another copy of better-sqlite3', async () => {
    // The worker loads this package's copy; two SQLite libraries on one file in one process lose each
    // other's POSIX locks when one closes. A fresh evaluation of the module stands for another copy.
    const require = createRequire(import.meta.url)
    const entry = require.resolve('better-sqlite3')
    const cached = Object.keys(require.cache).filter((key) => key.includes('better-sqlite3'))
    const saved = cached.map((key) => [key, require.cache[key]] as const)
    for (const key of cached) delete require.cache[key]
    const Other = require(entry) as typeof BetterSqlite3
    for (const [key, module] of saved) require.cache[key] = module
    expect(Other).not.toBe(BetterSqlite3)
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const database = new Other(join(dir, 'other.db'))
    try {
      const storage = await migrated(sqliteStorage({ database, walCheckpoints: 'worker' }))
      expect(storage.walCheckpointer).toBeUndefined()
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('another copy'))
      await storage.accounts.insertAccount(account('acme'))
      await storage.close()
    } finally {
      database.close()
    }
    // The package's own connection still gets the worker.
    const own = await migrated(sqliteStorage({ filename: join(dir, 'own.db'), walCheckpoints: 'worker' }))
    expect(own.walCheckpointer).toBeDefined()
    await own.close()
  })
})
