import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { auditSealer, DEFAULT_SETTINGS } from '@flexsecure/core'
import { createPool } from 'mysql2'
import { afterAll, describe, expect, it } from 'vitest'
import { mysqlReachable, SERVER_URL, testDatabase } from '../test/test-database.js'
import { mysqlStorage } from './mysql-storage.js'

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const reachable = await mysqlReachable()

if (!reachable) {
  describe.skip(`MySQL lost connections: not run, no server at ${SERVER_URL} (set FLEXSECURE_TEST_MYSQL_URL)`, () => {})
} else {
  const database = testDatabase()
  afterAll(() => database.drop())

  describe('MySQL storage when the server drops an idle connection', () => {
    it('does not crash the host; the next read or transaction runs on a new connection', async () => {
      await database.reset()
      // One connection, so the one the server kills is the one the next query would take.
      const pool = createPool({ uri: database.url, connectionLimit: 1 })
      const storage = mysqlStorage({ pool })
      storage.sealAuditWith(auditSealer('lost-connection-secret-lost-connection'))
      try {
        await storage.migrate()
        expect(await storage.accounts.listAccounts()).toEqual([])
        const connectionId = () =>
          new Promise<number>((resolve, reject) =>
            pool.query('SELECT CONNECTION_ID() AS id', (error, rows) =>
              error ? reject(error) : resolve(Number((rows as { id: number }[])[0]?.id)),
            ),
          )
        // KILL from another process while this one's event loop is blocked: the close of the killed
        // connection is then still unread when the next call takes it from the pool, every time.
        const kill = (id: number) => {
          execFileSync(
            process.execPath,
            [
              '-e',
              "const c = require('mysql2').createConnection(process.argv[1]); c.query('KILL ' + Number(process.argv[2]), (e) => { c.end(); if (e) { console.error(e); process.exit(1) } })",
              database.url,
              String(id),
            ],
            { cwd: packageDir, stdio: ['ignore', 'ignore', 'inherit'] },
          )
        }
        // A read, then a write in a transaction, each on the connection just killed: both must succeed.
        const ids = new Set<number>()
        for (let round = 0; round < 5; round++) {
          const idle = await connectionId()
          ids.add(idle)
          kill(idle)
          expect(await storage.accounts.listAccounts()).toHaveLength(round)
          kill(await connectionId())
          await storage.accounts.insertAccount({
            id: `acc${round}`,
            name: 'A',
            settings: DEFAULT_SETTINGS,
            createdAt: 0,
          })
        }
        expect(ids.size).toBe(5)
        expect(await storage.accounts.listAccounts()).toHaveLength(5)
      } finally {
        await storage.close()
        await new Promise<void>((resolve) => pool.end(() => resolve()))
      }
      // Ten child processes and the migrations (0006 added the console's tables): room for a loaded machine.
    }, 30_000)
  })
}
