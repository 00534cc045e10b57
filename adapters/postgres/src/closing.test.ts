import { auditSealer, DEFAULT_SETTINGS } from '@flexsecure/core'
import pg from 'pg'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { postgresReachable, SERVER_URL, testDatabase } from '../test/test-database.js'
import { postgresStorage } from './postgres-storage.js'

// Closing the PostgreSQL storage (found by review, 2026-12-06): a storage that never ran the migrator in
// this process left its own pool open at close() (Kysely's driver, which db.destroy() ends, is set up
// lazily, and the stores send their statements to the pool directly), and took writes after it.

const reachable = await postgresReachable()

if (!reachable) {
  describe.skip(`PostgreSQL closing: not run, no server at ${SERVER_URL} (set FLEXSECURE_TEST_PG_URL)`, () => {})
} else {
  const database = testDatabase()
  afterAll(() => database.drop())
  const account = (id: string) => ({ id, name: id, settings: DEFAULT_SETTINGS, createdAt: 0 })
  const open = () => {
    const storage = postgresStorage({ connectionString: database.url, max: 2 })
    storage.sealAuditWith(auditSealer('closing-secret-closing-secret-closing'))
    return storage
  }

  describe('closing the PostgreSQL storage', () => {
    it('ends its own pool, migrated in this process or not, and refuses work after the close', async () => {
      await database.reset()
      const admin = new pg.Client({ connectionString: database.url })
      await admin.connect()
      const sessions = async () =>
        Number(
          (
            await admin.query<{ n: string }>(
              'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
            )
          ).rows[0]?.n,
        )
      try {
        const before = await sessions()
        const migrating = open()
        await migrating.migrate()
        await migrating.close()
        // An app instance that does not migrate: it only reads and writes.
        const storage = open()
        await storage.accounts.insertAccount(account('early'))
        await storage.close()
        await expect(storage.accounts.insertAccount(account('late'))).rejects.toThrow(/closed/)
        const { rows } = await admin.query<{ id: string }>('SELECT id FROM fs_accounts ORDER BY id')
        expect(rows.map((row) => row.id)).toEqual(['early'])
        // No session of the closed storages is left on the server.
        await vi.waitFor(async () => expect(await sessions()).toBe(before))
      } finally {
        await admin.end()
      }
    })
  })
}
