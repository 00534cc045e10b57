import { auditSealer, DEFAULT_SETTINGS } from '@flexsecure/core'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { postgresReachable, SERVER_URL, testDatabase } from '../test/test-database.js'
import { postgresStorage } from './postgres-storage.js'

const reachable = await postgresReachable()

if (!reachable) {
  describe.skip(`PostgreSQL shared pool: not run, no server at ${SERVER_URL} (set FLEXSECURE_TEST_PG_URL)`, () => {})
} else {
  const database = testDatabase()
  afterAll(() => database.drop())

  describe('two PostgreSQL storages on one host pool', () => {
    it('share its connections without mixing up their prepared statements', async () => {
      await database.reset()
      // One connection, so both storages prepare their statements on the same session.
      const pool = new pg.Pool({ connectionString: database.url, max: 1 })
      pool.on('error', () => {})
      const first = postgresStorage({ pool })
      const second = postgresStorage({ pool })
      for (const storage of [first, second])
        storage.sealAuditWith(auditSealer('shared-pool-secret-shared-pool'))
      try {
        await first.migrate()
        await first.accounts.insertAccount({ id: 'acc', name: 'A', settings: DEFAULT_SETTINGS, createdAt: 0 })
        // Different statements first in each: numbering them per storage gave one name two texts.
        expect(await first.accounts.listAccounts()).toHaveLength(1)
        expect((await second.accounts.getAccount('acc'))?.name).toBe('A')
        expect(await second.accounts.listAccounts()).toHaveLength(1)
        expect((await first.accounts.getAccount('acc'))?.name).toBe('A')
      } finally {
        await first.close()
        await second.close()
        await pool.end()
      }
    })
  })
}
