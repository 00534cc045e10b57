import { auditSealer, DEFAULT_SETTINGS, StorageError } from '@flexsecure/core'
import { runStorageConformance } from '@flexsecure/core/conformance'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { countKeys, dropPrefix, REDIS_URL, redisReachable, testPrefix } from '../test/test-redis.js'
import { redisStorage } from './redis/redis-storage.js'

// The Redis storage against the contract every storage keeps, store by store, with the races across
// processes: each test opens it under a fresh key prefix and deletes that prefix's keys afterwards.

const reachable = await redisReachable()

if (!reachable) {
  describe.skip(`Redis storage: not run, no server at ${REDIS_URL} (set FLEXSECURE_TEST_REDIS_URL)`, () => {})
} else {
  runStorageConformance({
    name: 'redis (examples/custom-adapter)',
    // Every required store passes; the races run because all of them are listed. Written store by
    // store, this list grew one store at a time, in the order the suite seeds its data through.
    stores: ['accounts', 'apiKeys', 'systems', 'users', 'logins', 'outbox', 'audit'],
    open: async () => {
      const prefix = testPrefix()
      return {
        storage: redisStorage({ url: REDIS_URL, prefix }),
        shared: {
          module: new URL('../test/shared-redis.ts', import.meta.url).href,
          options: { url: REDIS_URL, prefix },
        },
        cleanup: () => dropPrefix(prefix),
      }
    },
  })

  describe('redisStorage', () => {
    const opened = async (prefix: string) => {
      const storage = redisStorage({ url: REDIS_URL, prefix })
      storage.sealAuditWith(auditSealer('redis-storage-test-secret-redis-storage'))
      await storage.migrate()
      return storage
    }

    it('keeps each storage under its own prefix, and dropping one prefix leaves the other', async () => {
      const [mine, theirs] = [testPrefix(), testPrefix()]
      const [a, b] = await Promise.all([opened(mine), opened(theirs)])
      try {
        await a.accounts.insertAccount({ id: 'acme', name: 'Acme', settings: DEFAULT_SETTINGS, createdAt: 1 })
        expect(await b.accounts.getAccount('acme')).toBeNull()
        expect(await countKeys(mine)).toBeGreaterThan(0)
        await dropPrefix(mine)
        expect(await countKeys(mine)).toBe(0)
        expect(await countKeys(theirs)).toBe(1) // the schema version migrate wrote
      } finally {
        await Promise.all([a.close(), b.close()])
        await Promise.all([dropPrefix(mine), dropPrefix(theirs)])
      }
    })

    it('refuses a Redis whose layout a newer version wrote', async () => {
      const prefix = testPrefix()
      const redis = new Redis(REDIS_URL)
      try {
        await redis.set(`${prefix}schema`, '2')
        const storage = redisStorage({ url: REDIS_URL, prefix })
        await expect(storage.migrate()).rejects.toBeInstanceOf(StorageError)
        await storage.close()
      } finally {
        await redis.quit()
        await dropPrefix(prefix)
      }
    })
  })
}
