import { runConsoleStoreConformance } from '@flexsecure/core/conformance'
import { afterAll, describe } from 'vitest'
import { mysqlReachable, SERVER_URL, testDatabase } from '../test/test-database.js'
import { mysqlStorage } from './mysql-storage.js'

if (!(await mysqlReachable())) {
  describe.skip(`MySQL console stores: not run, no server at ${SERVER_URL}`, () => {})
} else {
  const database = testDatabase()
  afterAll(() => database.drop())
  runConsoleStoreConformance({
    name: 'mysql',
    open: async () => {
      await database.reset()
      return { storage: mysqlStorage({ uri: database.url }) }
    },
  })
}
