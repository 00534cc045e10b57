// How the conformance races open this storage on the same Redis from another process.
import { redisStorage } from '../src/redis/redis-storage.js'

export function openStorage(options: { url: string; prefix: string }) {
  return redisStorage({ url: options.url, prefix: options.prefix })
}
