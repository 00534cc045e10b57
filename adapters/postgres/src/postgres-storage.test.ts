import { runStorageConformance } from '@flexsecure/core/conformance'
import { afterAll, describe } from 'vitest'
import { postgresReachable, SERVER_URL, testDatabase } from '../test/test-database.js'
import { postgresStorage } from './postgres-storage.js'

const reachable = await postgresReachable()

if (!reachable) {
  describe.skip(`PostgreSQL storage: not run, no server at ${SERVER_URL} (set FLEXSECURE_TEST_PG_URL)`, () => {})
} else {
  const database = testDatabase()
  // A database of its own, never migrated: the suite's own is truncated between tests, not dropped.
  const empty = testDatabase()
  afterAll(() => Promise.all([database.drop(), empty.drop()]))

  runStorageConformance({
    name: 'postgres',
    open: async () => {
      await database.reset()
      return {
        storage: postgresStorage({ connectionString: database.url }),
        shared: {
          module: new URL('../test/shared-postgres.ts', import.meta.url).href,
          options: { connectionString: database.url },
        },
      }
    },
    openUnmigrated: async () => {
      await empty.reset()
      return { storage: postgresStorage({ connectionString: empty.url }) }
    },
  })
}
