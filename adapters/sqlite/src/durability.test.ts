// S37: a message goes to a provider only once its challenge and outbox row would survive a power loss.
// By default the connection commits at synchronous=NORMAL and the executor syncs the WAL off the event loop
// (fdatasync on libuv's pool) before it answers the issuing transaction; so the notifier is called only
// after a sync that began once the challenge was committed. Writes that precede no message are answered
// at their commit and synced by the next sync, within a few milliseconds (docs/decisions.md, "Deferred sync").
import { mkdtempSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEngine } from '@flexsecure/core'
import { captureNotifier, manualClock } from '@flexsecure/core/testing'
import BetterSqlite3 from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { TEST_SECRET } from '../test/engine-fixture.js'
import { sqliteStorage } from './sqlite-storage.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-durable-'))
})
afterEach(() => {
  vi.restoreAllMocks()
  rmSync(dir, { recursive: true, force: true })
})

const synchronousOf = (db: BetterSqlite3.Database) => db.pragma('synchronous', { simple: true })

describe('durability (S37)', () => {
  it('syncs commits itself at FULL (the default), leaves it to SQLite when asked, and not at NORMAL', async () => {
    const full = new BetterSqlite3(join(dir, 'full.db'))
    const inCommit = new BetterSqlite3(join(dir, 'in-commit.db'))
    const normal = new BetterSqlite3(join(dir, 'normal.db'))
    const memory = new BetterSqlite3(':memory:')
    try {
      await sqliteStorage({ database: full }).close()
      await sqliteStorage({ database: inCommit, durableCommits: 'in-commit' }).close()
      await sqliteStorage({ database: normal, synchronous: 'normal' }).close()
      await sqliteStorage({ database: memory }).close()
      // SQLite's numbers: 1 NORMAL, 2 FULL. At FULL off the event loop, COMMIT itself does not sync.
      expect(synchronousOf(full)).toBe(1)
      expect(synchronousOf(inCommit)).toBe(2)
      expect(synchronousOf(normal)).toBe(1)
      // No WAL to sync: SQLite's own FULL.
      expect(synchronousOf(memory)).toBe(2)
      expect(full.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(() => sqliteStorage({ database: full, synchronous: 'off' as never })).toThrow(/synchronous/)
    } finally {
      for (const db of [full, inCommit, normal, memory]) db.close()
    }
  })

  it('has committed the challenge and its outbox row, and synced the WAL, when the notifier is called', async () => {
    const filename = join(dir, 'flexsecure.db')
    const captured = captureNotifier()
    const seen: { challenges: number; deliveries: number }[] = []
    // Each WAL sync that finished, with the challenges committed when it began.
    const synced = await spyOnWalSyncs(filename)
    const sentAfter: number[][] = []
    const engine = createEngine({
      storage: sqliteStorage({ filename }),
      notifier: {
        async send(message) {
          sentAfter.push([...synced])
          // Another connection sees only what was committed.
          const reader = new BetterSqlite3(filename, { readonly: true })
          try {
            const count = (table: string) =>
              (reader.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
            seen.push({ challenges: count('fs_challenges'), deliveries: count('fs_deliveries') })
          } finally {
            reader.close()
          }
          return captured.send(message)
        },
      },
      secret: TEST_SECRET,
      links: { baseUrl: 'https://auth.example.com' },
      clock: manualClock(),
    })
    try {
      await engine.migrate()
      const acme = engine.account((await engine.accounts.create({ name: 'Acme' })).id)
      await acme.systems.create({ name: 'app', policies: { passwordless: { enabled: true } } })
      for (const authid of ['a', 'b', 'c']) {
        await acme.users.create({ authid, email: `${authid}@example.com` })
        await acme.users.assign(authid, [{ system: 'app', method: 'passwordless' }])
      }
      // Three at once: they share a batch, and each is sent only after the batch's commit.
      await Promise.all(['a', 'b', 'c'].map((authid) => acme.start({ system: 'app', authid })))
      expect(seen).toHaveLength(3)
      for (const counts of seen) expect(counts).toEqual({ challenges: 3, deliveries: 3 })
      // Before each send, a sync that began with all three committed had finished.
      for (const syncs of sentAfter) expect(syncs).toContain(3)
    } finally {
      await engine.close()
    }
  })

  it('answers a confirmation at its commit and syncs it within the delay; with deferredSync off, before', async () => {
    for (const deferredSync of [true, false]) {
      const filename = join(dir, `confirm-${deferredSync}.db`)
      const synced = await spyOnWalSyncs(filename, 'fs_challenges WHERE status = ?', ['confirmed'])
      const { engine, confirmed } = await confirmedLogin(sqliteStorage({ filename, deferredSync }))
      try {
        expect(confirmed.result).toBe('confirmed')
        // Deferred: nothing synced the confirmation yet when it was answered. Not deferred: it was.
        expect(synced.includes(1)).toBe(!deferredSync)
        // Either way a sync that saw it follows within milliseconds, bounding what a power loss could undo.
        await vi.waitFor(() => expect(synced).toContain(1))
      } finally {
        await engine.close()
        vi.restoreAllMocks()
      }
    }
  })

  it('syncs a confirmation whose delayed sync has not started yet when the storage closes', async () => {
    const filename = join(dir, 'close.db')
    const synced = await spyOnWalSyncs(filename, 'fs_challenges WHERE status = ?', ['confirmed'])
    // A delay no test waits for: only the close can start the sync.
    const { engine, confirmed } = await confirmedLogin(
      sqliteStorage({ filename, deferredSyncDelayMs: 60_000 }),
    )
    expect(confirmed.result).toBe('confirmed')
    expect(synced.includes(1)).toBe(false)
    await engine.close()
    expect(synced).toContain(1)
  })

  it('closes after a failed sync without throwing', async () => {
    const filename = join(dir, 'failed.db')
    // The confirmation's sync waits for the close, which starts it; the disk then fails it.
    const { engine, confirmed } = await confirmedLogin(
      sqliteStorage({ filename, deferredSyncDelayMs: 60_000 }),
    )
    expect(confirmed.result).toBe('confirmed')
    const any = await open(dir, 'r')
    const prototype = Object.getPrototypeOf(any) as { datasync(): Promise<void> }
    await any.close()
    const datasync = vi.spyOn(prototype, 'datasync').mockRejectedValue(new Error('EIO: i/o error, fdatasync'))
    // The failure was the business of the callers who needed the disk; the close releases everything.
    await expect(engine.close()).resolves.toBeUndefined()
    expect(datasync).toHaveBeenCalled()
  })

  it('reads the audit head (what a signed checkpoint names, S34) only once it is on the disk', async () => {
    const filename = join(dir, 'head.db')
    const synced = await spyOnWalSyncs(filename, 'fs_audit_events')
    const storage = sqliteStorage({ filename })
    const { engine, acme, confirmed } = await confirmedLogin(storage)
    try {
      // A deferred write: answered before its sync, its audit event at the head of the chain.
      expect(confirmed.result).toBe('confirmed')
      const head = await storage.audit.getAuditHead(acme.id)
      // When the head was answered, a sync that began with every event up to it committed had finished.
      expect(Math.max(...synced)).toBeGreaterThanOrEqual(head?.seq ?? Number.POSITIVE_INFINITY)
    } finally {
      await engine.close()
    }
  })
})

/** An engine on `storage` whose one user has a confirmed link login: the write deferred sync answers early. */
async function confirmedLogin(storage: ReturnType<typeof sqliteStorage>) {
  const captured = captureNotifier()
  const engine = createEngine({
    storage,
    notifier: captured,
    secret: TEST_SECRET,
    links: { baseUrl: 'https://auth.example.com' },
    clock: manualClock(),
  })
  await engine.migrate()
  const acme = engine.account((await engine.accounts.create({ name: 'Acme' })).id)
  await acme.systems.create({ name: 'app', policies: { passwordless: { enabled: true } } })
  await acme.users.create({ authid: 'a', email: 'a@example.com' })
  await acme.users.assign('a', [{ system: 'app', method: 'passwordless' }])
  await acme.start({ system: 'app', authid: 'a' })
  const confirmed = await engine.links.confirm(captured.last().token ?? '')
  return { engine, acme, confirmed }
}

/**
 * Records every `fdatasync` through a FileHandle (in this test only the executor's, of the WAL) as it
 * finishes: how many rows of `where` (default: every challenge) were committed when it began.
 */
async function spyOnWalSyncs(
  filename: string,
  where = 'fs_challenges',
  parameters: unknown[] = [],
): Promise<number[]> {
  const finished: number[] = []
  const any = await open(dir, 'r')
  const prototype = Object.getPrototypeOf(any) as { datasync(): Promise<void> }
  await any.close()
  const datasync = prototype.datasync
  vi.spyOn(prototype, 'datasync').mockImplementation(async function (this: unknown) {
    const reader = new BetterSqlite3(filename, { readonly: true })
    let committed: number
    try {
      committed = (reader.prepare(`SELECT count(*) AS n FROM ${where}`).get(...parameters) as { n: number }).n
    } catch {
      committed = -1 // before the schema exists
    } finally {
      reader.close()
    }
    await datasync.call(this)
    finished.push(committed)
  })
  return finished
}
