import { runStorageConformance } from '@flexsecure/core/conformance'
import { describe } from 'vitest'
import { dropPrefix, REDIS_URL, redisReachable, testPrefix } from '../test/test-redis.js'
import { redisStorage } from './redis/redis-storage.js'

// The Redis storage against the contract every storage keeps, store by store, with the races across
// processes: each test opens it under a fresh key prefix and deletes that prefix's keys afterwards.

const reachable = await redisReachable()

if (!reachable) {
  describe.skip(`Redis storage: not run, no server at ${REDIS_URL} (set FLEXSECURE_TEST_REDIS_URL)`, () => {})
} else {
  runStorageConformance({
    name: 'redis (examples/custom-adapter)',
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
}
