import { createClient } from '@flexsecure/client'
import mysql from 'mysql2/promise'
import { afterAll, describe, expect, it } from 'vitest'
import { mysqlReachable, SERVER_URL, testDatabase } from '../../../adapters/mysql/test/test-database.js'
import { runCli, startServe } from '../test/serve-process.js'

const reachable = await mysqlReachable()

if (!reachable) {
  describe.skip(`flexsecure serve on MySQL: not run, no server at ${SERVER_URL}`, () => {})
} else {
  const database = testDatabase()
  afterAll(() => database.drop())

  describe('flexsecure on a mysql:// URL', () => {
    it('migrates the MySQL database itself (no SQLite file in a folder named mysql:) and serves logins', async () => {
      await database.reset()
      const env = { FLEXSECURE_DB: database.url, FLEXSECURE_SECRET: 's'.repeat(40) }
      expect(runCli(['migrate'], env)).toMatchObject({ code: 0 })
      const connection = await mysql.createConnection({ uri: database.url })
      const [tables] = await connection.query(`SHOW TABLES LIKE 'fs_accounts'`)
      await connection.end()
      expect(tables).toHaveLength(1)
      const server = await startServe(env)
      try {
        expect(server.output()).toContain(`(database ${database.url})`)
        const client = createClient({ baseUrl: server.url, apiKey: server.authKey })
        expect(await client.start({ system: 'demo', authid: 'demo' })).toMatchObject({ result: 'success' })
        expect(await client.check({ system: 'demo', authid: 'demo' })).toMatchObject({ result: 'pending' })
        const ready = await fetch(`${server.url}/readyz`)
        expect([ready.status, await ready.json()]).toEqual([200, { status: 'ok' }])
      } finally {
        await server.stop()
      }
    }, 90_000)
  })
}
