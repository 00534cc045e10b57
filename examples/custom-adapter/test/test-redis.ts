// A Redis for one test run: each storage under a key prefix of its own, deleted afterwards. Points
// at FLEXSECURE_TEST_REDIS_URL, else the local server.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

export const REDIS_URL = process.env.FLEXSECURE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * Whether the server answers. When it does not: under FLEXSECURE_REQUIRE_REDIS=1 (CI) this throws;
 * otherwise it prints one loud line and the suite skips.
 */
export async function redisReachable(): Promise<boolean> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  // The connection's own error (ECONNREFUSED) says more than the failed command's.
  let refused: Error | undefined
  redis.on('error', (error: Error) => {
    refused ??= error
  })
  try {
    await redis.connect()
    await redis.ping()
    return true
  } catch (error) {
    const why = `Redis is unreachable at ${REDIS_URL} (${(refused ?? (error as Error)).message})`
    if (process.env.FLEXSECURE_REQUIRE_REDIS === '1')
      throw new Error(`${why}, and FLEXSECURE_REQUIRE_REDIS=1 requires it`)
    console.warn(
      `\n!!! SKIPPING the Redis storage suite: ${why}. Point FLEXSECURE_TEST_REDIS_URL at a server to run it.\n`,
    )
    return false
  } finally {
    redis.disconnect()
  }
}

/** A prefix no other storage uses: `fs-test-<random>:`. */
export const testPrefix = () => `fs-test-${randomBytes(6).toString('hex')}:`

/** Deletes every key under `prefix`. */
export async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL)
  try {
    let cursor = '0'
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (found.length > 0) await redis.unlink(...found)
      cursor = next
    } while (cursor !== '0')
  } finally {
    await redis.quit()
  }
}

/** How many keys are under `prefix` (a test checks that cleaning up leaves none). */
export async function countKeys(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL)
  try {
    return (await redis.keys(`${prefix}*`)).length
  } finally {
    await redis.quit()
  }
}
