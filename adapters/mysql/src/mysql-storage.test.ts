import { runStorageConformance } from '@flexsecure/core/conformance'
import { afterAll, describe } from 'vitest'
import { mysqlReachable, SERVER_URL, testDatabase } from '../test/test-database.js'
import { mysqlStorage } from './mysql-storage.js'

const reachable = await mysqlReachable()

if (!reachable) {
  describe.skip(`MySQL storage: not run, no server at ${SERVER_URL} (set FLEXSECURE_TEST_MYSQL_URL)`, () => {})
} else {
  const database = testDatabase()
  // A database of its own, never migrated: the suite's own is truncated between tests, not dropped.
  const empty = testDatabase()
  afterAll(() => Promise.all([database.drop(), empty.drop()]))

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
    openUnmigrated: async () => {
      await empty.reset()
      return { storage: mysqlStorage({ uri: empty.url }) }
    },
  })
}
