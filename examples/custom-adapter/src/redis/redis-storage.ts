import { type Storage, StorageError } from '@flexsecure/core'
import { Redis } from 'ioredis'
import { redisAccounts, redisApiKeys } from './accounts.js'
import { redisAudit, type SealerSlot } from './audit.js'
import { redisSystems, redisUsers } from './directory.js'
import { redisKeys } from './keys.js'
import { redisLogins } from './logins.js'
import { redisOutbox } from './outbox.js'
import { ConnectionPool, runner, storageError } from './transaction.js'

export interface RedisStorageOptions {
  /** The server, as a `redis://` URL (a database index as its path: `redis://host:6379/2`). */
  readonly url?: string
  /** What every key starts with, so several storages can share one Redis. Default `flexsecure:`. */
  readonly prefix?: string
  /** Connections for transactions, each held by one transaction at a time. Default 4. */
  readonly connections?: number
}

/** The layout `migrate` writes; a storage refuses a Redis that a newer layout was written to. */
const SCHEMA_VERSION = 1

/**
 * FlexSecure's required stores on Redis: a custom adapter, written against the Storage port and
 * checked by `runStorageConformance`, races across processes included. It leaves the optional
 * stores out (console sessions, completion codes, admin queries, secret rotation): an engine on it
 * runs logins, the outbox and the audit trail, without the console or same-device completion.
 *
 * ```ts
 * const engine = createEngine({ storage: redisStorage({ url: 'redis://127.0.0.1:6379' }), notifier, secret, links })
 * ```
 */
export function redisStorage(options: RedisStorageOptions = {}): Storage {
  const url = options.url ?? 'redis://127.0.0.1:6379'
  const keys = redisKeys(options.prefix ?? 'flexsecure:')
  // A command fails (as a StorageError) after two reconnection attempts rather than waiting forever.
  // Connection errors are reported by the commands they fail (as StorageError), not as events.
  const connect = () => new Redis(url, { maxRetriesPerRequest: 2 }).on('error', () => {})
  const pool = new ConnectionPool(Array.from({ length: options.connections ?? 4 }, connect))
  const reader = connect()
  const slot: SealerSlot = { sealer: null }
  let closed = false
  const run = runner(pool, reader, () => closed)
  const { inspector, ...outbox } = redisOutbox(run, keys, slot)

  return {
    async migrate() {
      // Nothing to create: keys come into being with their first write. Record the layout once;
      // SET NX is safe from several processes at once.
      await run.read('migrate', async (redis) => {
        await redis.set(keys.schema, String(SCHEMA_VERSION), 'NX')
        const stored = Number(await redis.get(keys.schema))
        if (stored > SCHEMA_VERSION)
          throw new StorageError(
            `migrate failed: this Redis holds layout ${stored}, newer than ${SCHEMA_VERSION}`,
          )
      })
    },
    async close() {
      if (closed) return
      closed = true
      try {
        await Promise.all([pool.close(), reader.quit()])
      } catch (error) {
        throw storageError('close', error)
      }
    },
    sealAuditWith(sealer) {
      slot.sealer = sealer
    },

    accounts: redisAccounts(run, keys, slot),
    apiKeys: redisApiKeys(run, keys, slot),
    systems: redisSystems(run, keys, slot),
    users: redisUsers(run, keys, slot),
    logins: redisLogins(run, keys, slot),
    outbox,
    audit: redisAudit(run, keys, slot),
    inspector,
  }
}
