// S37: a message goes to a provider only once its challenge and outbox row would survive a power loss.
// By default the connection commits at synchronous=NORMAL and the executor syncs the WAL off the event loop
// (fdatasync on libuv's pool) before it answers the issuing transaction; so the notifier is called only
// after a sync that began once the challenge was committed. Writes that precede no message are answered
// at their commit and synced by the next sync, within a few milliseconds (docs/decisions.md, "Deferred sync").
import { mkdtempSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { auditSealer, createEngine, DEFAULT_SETTINGS } from '@flexsecure/core'
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
      const storages = [
        sqliteStorage({ database: full }),
        sqliteStorage({ database: inCommit, durableCommits: 'in-commit' }),
        sqliteStorage({ database: normal, synchronous: 'normal' }),
        sqliteStorage({ database: memory }),
      ]
      // SQLite's numbers: 1 NORMAL, 2 FULL. At FULL off the event loop, COMMIT itself does not sync.
      expect(synchronousOf(full)).toBe(1)
      expect(synchronousOf(inCommit)).toBe(2)
      expect(synchronousOf(normal)).toBe(1)
      // No WAL to sync: SQLite's own FULL.
      expect(synchronousOf(memory)).toBe(2)
      expect(full.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(() => sqliteStorage({ database: full, synchronous: 'off' as never })).toThrow(/synchronous/)
      for (const storage of storages) await storage.close()
      // Each connection is the caller's again, at better-sqlite3's default.
      for (const db of [full, inCommit, normal, memory]) expect(synchronousOf(db)).toBe(2)
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

  it('answers an audit append told it is deferred at its commit, and any other once it is on the disk', async () => {
    const filename = join(dir, 'audit.db')
    const storage = sqliteStorage({ filename })
    const { engine, acme } = await confirmedLogin(storage)
    const draft = (type: string) => ({
      accountId: acme.id,
      at: Date.now(),
      type,
      actor: 'api',
      system: null,
      authid: null,
      challengeId: null,
      outcome: 'expired',
      reason: null,
      ip: null,
      userAgent: null,
      details: null,
    })
    try {
      const deferred = await spyOnWalSyncs(filename, 'fs_audit_events WHERE type = ?', ['deferred.append'])
      await storage.audit.appendAudit([draft('deferred.append')], 'deferred')
      expect(deferred).not.toContain(1)
      await vi.waitFor(() => expect(deferred).toContain(1))
      vi.restoreAllMocks()
      const durable = await spyOnWalSyncs(filename, 'fs_audit_events WHERE type = ?', ['durable.append'])
      await storage.audit.appendAudit([draft('durable.append')])
      expect(durable).toContain(1)
    } finally {
      await engine.close()
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

  it('closes after a failed sync, releasing everything, and fails with it', async () => {
    const filename = join(dir, 'failed.db')
    const database = new BetterSqlite3(filename)
    // The confirmation's sync waits for the close, which starts it; the disk then fails it.
    const { engine, confirmed } = await confirmedLogin(
      sqliteStorage({ database, deferredSyncDelayMs: 60_000, walCheckpoints: 'worker' }),
    )
    expect(confirmed.result).toBe('confirmed')
    const datasync = vi
      .spyOn(await fileHandlePrototype(), 'datasync')
      .mockRejectedValue(new Error('EIO: i/o error, fdatasync'))
    // The confirmation was answered at its commit: the close is the last word its caller can get.
    await expect(engine.close()).rejects.toThrow(/EIO/)
    expect(datasync).toHaveBeenCalled()
    // Released all the same: the connection is the caller's again, at its own setting.
    expect(database.open).toBe(true)
    expect(database.pragma('synchronous', { simple: true })).toBe(2)
    database.close()
  })

  it('tells once of a failed sync that nobody waited for', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const { engine, acme, confirmed } = await confirmedLogin(
      sqliteStorage({ filename: join(dir, 'told.db'), deferredSyncDelayMs: 0 }),
    )
    expect(confirmed.result).toBe('confirmed')
    vi.spyOn(await fileHandlePrototype(), 'datasync').mockRejectedValue(
      new Error('EIO: i/o error, fdatasync'),
    )
    // A deferred write (the move to authenticated), answered at its commit, its sync failing behind it.
    await expect(acme.check({ system: 'app', authid: 'a' })).resolves.toMatchObject({
      result: 'authenticated',
    })
    await vi.waitFor(() => expect(errors).toHaveBeenCalledTimes(1))
    expect(String(errors.mock.calls[0]?.[0])).toMatch(/a sync of the SQLite WAL failed/)
    // A write that needs the disk fails from now on, to its caller; the log is not repeated.
    await expect(acme.start({ system: 'app', authid: 'a' })).rejects.toThrow()
    await expect(engine.close()).rejects.toThrow(/EIO/)
    expect(errors).toHaveBeenCalledTimes(1)
  })

  it('refuses a write that arrives once the close began, and commits none of it', async () => {
    // A send that answers after the engine's closeWaitMs writes its outcome into a closing storage: its
    // commit could be checkpointed, and its WAL deleted, under its own sync (ENOENT for a committed row).
    const filename = join(dir, 'late.db')
    const storage = sqliteStorage({ filename, walCheckpoints: 'worker' })
    storage.sealAuditWith(auditSealer(TEST_SECRET))
    await storage.migrate()
    await storage.accounts.insertAccount({ id: 'early', name: 'E', settings: DEFAULT_SETTINGS, createdAt: 0 })
    const closing = storage.close()
    const late = storage.accounts.insertAccount({
      id: 'late',
      name: 'L',
      settings: DEFAULT_SETTINGS,
      createdAt: 0,
    })
    await expect(late).rejects.toThrow(/closed/)
    await closing
    const reader = new BetterSqlite3(filename, { readonly: true })
    try {
      const ids = reader.prepare('SELECT id FROM fs_accounts ORDER BY id').pluck().all()
      expect(ids).toEqual(['early'])
    } finally {
      reader.close()
    }
  })

  it('syncs the migrations it commits', async () => {
    const filename = join(dir, 'migrated.db')
    const synced = await spyOnWalSyncs(filename, "sqlite_master WHERE name = 'fs_accounts'")
    const storage = sqliteStorage({ filename })
    storage.sealAuditWith(auditSealer(TEST_SECRET))
    await storage.migrate()
    // A sync began once the schema was committed, before migrate answered; no close needed.
    expect(synced).toContain(1)
    await storage.close()
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
  const prototype = await fileHandlePrototype()
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

/** FileHandle's prototype, to spy on what every handle of `fs/promises` does. */
async function fileHandlePrototype(): Promise<{ datasync(): Promise<void> }> {
  const any = await open(dir, 'r')
  await any.close()
  return Object.getPrototypeOf(any)
}
