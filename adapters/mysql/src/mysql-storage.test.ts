import { DEFAULT_SETTINGS } from '@flexsecure/core'
import { runStorageConformance } from '@flexsecure/core/conformance'
import { afterAll, describe, expect, it } from 'vitest'
import { mysqlReachable, SERVER_URL, testDatabase } from '../test/test-database.js'
import { mysqlStorage } from './mysql-storage.js'

const reachable = await mysqlReachable()

if (!reachable) {
  describe.skip(`MySQL storage: not run, no server at ${SERVER_URL} (set FLEXSECURE_TEST_MYSQL_URL)`, () => {})
} else {
  const database = testDatabase()
  afterAll(() => database.drop())

  runStorageConformance({
    name: 'mysql',
    open: async () => {
      await database.reset()
      return {
        storage: mysqlStorage({ uri: database.url }),
        shared: {
          module: new URL('../test/shared-mysql.ts', import.meta.url).href,
          options: { uri: database.url },
        },
      }
    },
  })

  describe('MySQL storage before its migration', () => {
    // A database of its own, never migrated: the suite's own is truncated between tests, not dropped.
    const empty = testDatabase()
    afterAll(() => empty.drop())

    it('says to migrate when its tables are not there yet', async () => {
      await empty.reset()
      const storage = mysqlStorage({ uri: empty.url })
      try {
        await expect(
          storage.accounts.insertAccount({
            id: 'a1',
            name: 'Acme',
            settings: DEFAULT_SETTINGS,
            createdAt: 0,
          }),
        ).rejects.toThrow('call engine.migrate() first, or run `flexsecure migrate`')
      } finally {
        await storage.close()
      }
    })
  })
}
