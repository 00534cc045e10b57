import { DEFAULT_SETTINGS } from '@flexsecure/core'
import { runStorageConformance } from '@flexsecure/core/conformance'
import { afterAll, describe, expect, it } from 'vitest'
import { postgresReachable, SERVER_URL, testDatabase } from '../test/test-database.js'
import { postgresStorage } from './postgres-storage.js'

const reachable = await postgresReachable()

if (!reachable) {
  describe.skip(`PostgreSQL storage: not run, no server at ${SERVER_URL} (set FLEXSECURE_TEST_PG_URL)`, () => {})
} else {
  const database = testDatabase()
  afterAll(() => database.drop())

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
  })

  describe('PostgreSQL storage before its migration', () => {
    // A database of its own, never migrated: the suite's own is truncated between tests, not dropped.
    const empty = testDatabase()
    afterAll(() => empty.drop())

    it('says to migrate when its tables are not there yet', async () => {
      await empty.reset()
      const storage = postgresStorage({ connectionString: empty.url })
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
