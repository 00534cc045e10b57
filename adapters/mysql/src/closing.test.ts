import { auditSealer, DEFAULT_SETTINGS } from '@flexsecure/core'
import { createPool } from 'mysql2'
import mysql from 'mysql2/promise'
import { afterAll, describe, expect, it } from 'vitest'
import { mysqlReachable, SERVER_URL, testDatabase } from '../test/test-database.js'
import { mysqlStorage } from './mysql-storage.js'

// Closing the MySQL storage, and a host's pool (found by review, 2026-12-06): close() ended the pool
// under a transaction still running, which failed with "Can't add new command when connection is in
// closed state"; a host pool's connections made before the storage stayed at REPEATABLE READ; and
// every storage on a host pool left a 'connection' listener behind.

const reachable = await mysqlReachable()

if (!reachable) {
  describe.skip(`MySQL closing: not run, no server at ${SERVER_URL} (set FLEXSECURE_TEST_MYSQL_URL)`, () => {})
} else {
  const database = testDatabase()
  afterAll(() => database.drop())
  const account = (id: string) => ({ id, name: id, settings: DEFAULT_SETTINGS, createdAt: 0 })
  const seal = <T extends { sealAuditWith(sealer: ReturnType<typeof auditSealer>): void }>(storage: T) => {
    storage.sealAuditWith(auditSealer('closing-secret-closing-secret-closing'))
    return storage
  }

  describe('closing the MySQL storage', () => {
    it('lets a transaction under way end before it ends the pool, and refuses work after', async () => {
      await database.reset()
      const storage = seal(mysqlStorage({ uri: database.url }))
      await storage.migrate()
      const locker = await mysql.createConnection({ uri: database.url })
      try {
        // Another session holds the table: the insert waits inside its transaction.
        await locker.query('LOCK TABLES fs_accounts WRITE')
        const insert = storage.accounts.insertAccount(account('under-way'))
        await new Promise((resolve) => setTimeout(resolve, 200))
        const closing = storage.close()
        await expect(storage.accounts.insertAccount(account('late'))).rejects.toThrow(/closed/)
        await new Promise((resolve) => setTimeout(resolve, 200))
        await locker.query('UNLOCK TABLES')
        await expect(insert).resolves.toBeUndefined()
        await closing
        const [rows] = await locker.query('SELECT id FROM fs_accounts ORDER BY id')
        expect((rows as { id: string }[]).map((row) => row.id)).toEqual(['under-way'])
      } finally {
        await locker.end()
      }
    })

    it("runs a host pool's connections at READ COMMITTED, those made before it too, and leaves no listener", async () => {
      await database.reset()
      const pool = createPool({ uri: database.url, connectionLimit: 1 })
      try {
        // The pool's one connection exists before the storage does.
        await pool.promise().query('SELECT 1')
        const listeners = pool.listenerCount('connection')
        const storages = Array.from({ length: 3 }, () => seal(mysqlStorage({ pool })))
        await storages[0]?.migrate()
        await storages[0]?.accounts.insertAccount(account('acc'))
        const [rows] = await pool.promise().query('SELECT @@session.tx_isolation AS level')
        expect((rows as { level: string }[])[0]?.level).toBe('READ-COMMITTED')
        for (const storage of storages) await storage.close()
        expect(pool.listenerCount('connection')).toBe(listeners)
      } finally {
        await pool.promise().end()
      }
    })
  })
}
