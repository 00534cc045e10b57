import { runConsoleStoreConformance } from '@flexsecure/core/conformance'
import { afterAll, describe } from 'vitest'
import { postgresReachable, SERVER_URL, testDatabase } from '../test/test-database.js'
import { postgresStorage } from './postgres-storage.js'

if (!(await postgresReachable())) {
  describe.skip(`PostgreSQL console stores: not run, no server at ${SERVER_URL}`, () => {})
} else {
  const database = testDatabase()
  afterAll(() => database.drop())
  runConsoleStoreConformance({
    name: 'postgres',
    open: async () => {
      await database.reset()
      return { storage: postgresStorage({ connectionString: database.url }) }
    },
  })
}
