import { ConflictError, StorageError, ValidationError } from '@flexsecure/core'
import type { ChainableCommander, Redis } from 'ioredis'

// The Redis storage's one kind of transaction: optimistic, with WATCH and MULTI/EXEC.
//
// A transaction reads the rows it decides on through `Tx`, which WATCHes each key before reading it,
// and queues its writes. EXEC then applies every write at once, unless another client changed a
// watched key since: then nothing is applied and the whole transaction runs again from its first
// read. That is what makes a conditional write atomic across processes: two dispatchers claiming one
// delivery both read it unclaimed, but only the first EXEC succeeds; the second reads it again,
// claimed, and claims nothing. A transaction that throws before EXEC has written nothing.
//
// WATCH belongs to a connection, so each transaction holds a connection of its own until it ends.

/** How often a transaction runs again after a conflict before it gives up with a StorageError. */
const MAX_TRIES = 200

/** Rows read and written by one try of a transaction; its writes go out together in one MULTI. */
export class Tx {
  /** JSON rows this try wrote (null: deleted), so later reads in the same try see them. */
  private readonly written = new Map<string, string | null>()
  private readonly queued: ((multi: ChainableCommander) => void)[] = []

  constructor(readonly redis: Redis) {}

  /** WATCHes `keys`, then reads with `read` on this connection: a change to them before EXEC aborts it. */
  async watched<T>(keys: string | readonly string[], read: (redis: Redis) => Promise<T>): Promise<T> {
    const list = typeof keys === 'string' ? [keys] : keys
    if (list.length === 0) return read(this.redis)
    // Sent in order on one connection: the WATCH is in place before the read is answered.
    const [, value] = await Promise.all([this.redis.watch(...list), read(this.redis)])
    return value
  }

  /** A JSON row, watched; what this try wrote to it, if it did. */
  async row<T>(key: string): Promise<T | null> {
    const [row] = await this.rows<T>([key])
    return row ?? null
  }

  /** Several JSON rows at once, watched, in the order of `keys`. */
  async rows<T>(keys: readonly string[]): Promise<(T | null)[]> {
    const unread = keys.filter((key) => !this.written.has(key))
    const texts = unread.length === 0 ? [] : await this.watched(unread, (redis) => redis.mget(...unread))
    const read = new Map(unread.map((key, i) => [key, texts[i] ?? null]))
    return keys.map((key) => {
      const text = this.written.has(key) ? this.written.get(key) : read.get(key)
      return text === null || text === undefined ? null : (JSON.parse(text) as T)
    })
  }

  /**
   * Several JSON rows at once, NOT watched: for finding candidates (due deliveries, say) among many
   * rows without making every one of them a reason to run again. Read the ones you will change
   * again with `rows`, and check them again: that read is the one the write depends on.
   */
  async peek<T>(keys: readonly string[]): Promise<(T | null)[]> {
    if (keys.length === 0) return []
    const texts = await this.redis.mget(...keys)
    return texts.map((text) => (text === null ? null : (JSON.parse(text) as T)))
  }

  /** Queues writing a JSON row. */
  put(key: string, row: unknown): void {
    const text = JSON.stringify(row)
    this.written.set(key, text)
    this.queued.push((multi) => multi.set(key, text))
  }

  /** Queues deleting keys (rows or indexes). */
  delete(...keys: string[]): void {
    if (keys.length === 0) return
    for (const key of keys) this.written.set(key, null)
    this.queued.push((multi) => multi.unlink(...keys))
  }

  /** Queues any other write (an index: ZADD, HSET, SADD, …). */
  write(command: (multi: ChainableCommander) => unknown): void {
    this.queued.push((multi) => {
      command(multi)
    })
  }

  get writes(): number {
    return this.queued.length
  }

  /** The queued writes as one MULTI. */
  multi(): ChainableCommander {
    const multi = this.redis.multi()
    for (const write of this.queued) write(multi)
    return multi
  }
}

/** Connections for transactions, each held by one transaction at a time. */
export class ConnectionPool {
  private readonly idle: Redis[]
  private readonly waiting: ((redis: Redis) => void)[] = []

  constructor(private readonly all: readonly Redis[]) {
    this.idle = [...all]
  }

  acquire(): Promise<Redis> {
    const redis = this.idle.pop()
    if (redis) return Promise.resolve(redis)
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  release(redis: Redis): void {
    const next = this.waiting.shift()
    if (next) next(redis)
    else this.idle.push(redis)
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((redis) => redis.quit().catch(() => redis.disconnect())))
  }
}

/** What the stores share: how to run a transaction, a connection for plain reads, the key layout. */
export interface Runner {
  /**
   * Runs `body` as one transaction (again, from the start, after a conflict). With `snapshot`, a
   * transaction that writes nothing still ends with an EXEC, so that its reads were one moment's.
   */
  transact<T>(what: string, body: (tx: Tx) => Promise<T>, options?: { snapshot?: boolean }): Promise<T>
  /** Runs a read that needs no transaction (one key, or keys whose moments may differ). */
  read<T>(what: string, body: (redis: Redis) => Promise<T>): Promise<T>
}

/** Errors the port defines pass through; any other failure is the backend's: a StorageError. */
export function storageError(what: string, error: unknown): Error {
  if (error instanceof StorageError || error instanceof ConflictError || error instanceof ValidationError)
    return error
  return new StorageError(`${what} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error })
}

/** A runner over a pool of transaction connections and one shared connection for plain reads. */
export function runner(pool: ConnectionPool, reader: Redis, isClosed: () => boolean): Runner {
  const refuseClosed = (what: string) => {
    if (isClosed()) throw new StorageError(`${what} failed: the storage is closed`)
  }
  return {
    async transact(what, body, { snapshot = false } = {}) {
      refuseClosed(what)
      const redis = await pool.acquire()
      try {
        for (let tries = 1; tries <= MAX_TRIES; tries++) {
          const tx = new Tx(redis)
          let result: Awaited<ReturnType<typeof body>>
          try {
            result = await body(tx)
          } catch (error) {
            await redis.unwatch().catch(() => {})
            throw error
          }
          if (tx.writes === 0 && !snapshot) {
            await redis.unwatch()
            return result
          }
          const replies = await tx.multi().exec()
          if (replies !== null) {
            const failed = replies.find(([error]) => error)
            if (failed) throw failed[0]
            return result
          }
          // A watched key changed: wait a little (longer after each conflict), then run again.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** tries)))
        }
        throw new StorageError(`${what} failed: still conflicting after ${MAX_TRIES} tries`)
      } catch (error) {
        throw storageError(what, error)
      } finally {
        pool.release(redis)
      }
    },
    async read(what, body) {
      refuseClosed(what)
      try {
        return await body(reader)
      } catch (error) {
        throw storageError(what, error)
      }
    },
  }
}
