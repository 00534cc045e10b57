import { auditSealer, DEFAULT_SETTINGS } from '@flexsecure/core'
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

    it('runs the next read or transaction on a new connection when the pool has not noticed yet', async () => {
      await database.reset()
      // One connection, so the one the server ends is the one the next call takes.
      const pool = new pg.Pool({ connectionString: database.url, max: 1, application_name: 'lost-race' })
      pool.on('error', () => {})
      const storage = postgresStorage({ pool })
      storage.sealAuditWith(auditSealer('lost-connection-secret-lost-connection'))
      const admin = new pg.Client({ connectionString: database.url })
      await admin.connect()
      const terminate = async () => {
        await pool.query('SELECT 1')
        await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lost-race'",
        )
      }
      try {
        await storage.migrate()
        // Right after the termination the pool usually still holds the ended client (a race, so five
        // rounds): a read, then a write in a transaction, each must still succeed.
        for (let round = 0; round < 5; round++) {
          await terminate()
          expect(await storage.listAccounts()).toHaveLength(round)
          await terminate()
          await storage.insertAccount({
            id: `acc${round}`,
            name: 'A',
            settings: DEFAULT_SETTINGS,
            createdAt: 0,
          })
        }
        expect(await storage.listAccounts()).toHaveLength(5)
      } finally {
        await admin.end()
        await storage.close()
        await pool.end()
      }
    })
  })
}
