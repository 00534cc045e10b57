// S37: a message goes to a provider only once its challenge and outbox row would survive a power loss.
// SQLite runs at synchronous=FULL by default (each commit synced to the disk before it returns), and the
// issuing transaction has committed before the notifier is called.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEngine } from '@flexsecure/core'
import { captureNotifier, manualClock } from '@flexsecure/core/testing'
import BetterSqlite3 from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TEST_SECRET } from '../test/engine-fixture.js'
import { sqliteStorage } from './sqlite-storage.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-durable-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const synchronousOf = (db: BetterSqlite3.Database) => db.pragma('synchronous', { simple: true })

describe('durability (S37)', () => {
  it('runs at synchronous=FULL by default and at NORMAL only when asked', async () => {
    const full = new BetterSqlite3(join(dir, 'full.db'))
    const normal = new BetterSqlite3(join(dir, 'normal.db'))
    try {
      await sqliteStorage({ database: full }).close()
      await sqliteStorage({ database: normal, synchronous: 'normal' }).close()
      // SQLite's numbers: 1 NORMAL, 2 FULL.
      expect(synchronousOf(full)).toBe(2)
      expect(synchronousOf(normal)).toBe(1)
      expect(full.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(() => sqliteStorage({ database: full, synchronous: 'off' as never })).toThrow(/synchronous/)
    } finally {
      full.close()
      normal.close()
    }
  })

  it('has committed the challenge and its outbox row when the notifier is called', async () => {
    const filename = join(dir, 'flexsecure.db')
    const captured = captureNotifier()
    const seen: { challenges: number; deliveries: number }[] = []
    const engine = createEngine({
      storage: sqliteStorage({ filename }),
      notifier: {
        async send(message) {
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
    } finally {
      await engine.close()
    }
  })
})
