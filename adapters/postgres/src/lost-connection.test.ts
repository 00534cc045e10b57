import { auditSealer } from '@flexsecure/core'
import pg from 'pg'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { postgresReachable, SERVER_URL, testDatabase } from '../test/test-database.js'
import { postgresStorage } from './postgres-storage.js'

const reachable = await postgresReachable()

if (!reachable) {
  describe.skip(`PostgreSQL lost connections: not run, no server at ${SERVER_URL} (set FLEXSECURE_TEST_PG_URL)`, () => {})
} else {
  const database = testDatabase()
  afterAll(() => database.drop())

  describe('PostgreSQL storage when the server drops an idle connection', () => {
    it('logs one line instead of crashing, and the next query gets a new connection', async () => {
      await database.reset()
      const storage = postgresStorage({
        connectionString: `${database.url}?application_name=lost-connection`,
      })
      storage.sealAuditWith(auditSealer('lost-connection-secret-lost-connection'))
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
      try {
        await storage.migrate()
        expect(await storage.listAccounts()).toEqual([])
        // Terminate the storage's idle pooled connections, as a server restart or an administrator would.
        const admin = new pg.Client({ connectionString: database.url })
        await admin.connect()
        await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lost-connection'",
        )
        await admin.end()
        await vi.waitFor(() => expect(warn).toHaveBeenCalled())
        expect(String(warn.mock.calls[0]?.[0])).toContain('an idle PostgreSQL connection was lost')
        expect(await storage.listAccounts()).toEqual([])
      } finally {
        warn.mockRestore()
        await storage.close()
      }
    })
  })
}
