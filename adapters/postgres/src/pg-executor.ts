import { createHash } from 'node:crypto'
import type { SqlExecutor } from '@flexsecure/kysely'
import type pg from 'pg'

/**
 * The connection was already gone when the statement went out: the server ended the session
 * (`57P01` administrator command, `57P02` crash, `57P05` idle_session_timeout), or the socket closed
 * under the driver. The pool drops such a client, so running again takes a new one. (Not a timeout
 * while connecting: running again would only wait as long again.)
 */
/**
 * PostgreSQL ended the whole transaction and it may simply run again: a deadlock it broke (40P01), or a
 * serialization failure (40001, under REPEATABLE READ or SERIALIZABLE, should a host's pool set them).
 * Every transaction body of the shared storage is safe to run again (it keeps no state outside itself).
 */
export function rolledBack(error: unknown): boolean {
  const { code } = (error ?? {}) as { code?: unknown }
  return code === '40P01' || code === '40001'
}

export function connectionLost(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  if (code === '57P01' || code === '57P02' || code === '57P05') return true
  if (code === 'ECONNRESET' || code === 'EPIPE') return true
  return typeof message === 'string' && /^Connection terminated unexpectedly/.test(message)
}

/**
 * The pool, handing out clients that listen for `'error'` while they are checked out. pg-pool only
 * listens on idle clients, and an unheard `'error'` (the server ending a connection mid-transaction,
 * mid-migration or while waiting for the migration lock) would end the host process; the query in
 * flight fails with the error anyway. Releasing a client whose connection failed, or with an error of
 * the caller's, ends it instead of pooling it. Kysely's dialect (migrations) and `pgExecutor`'s
 * transactions both take their clients here.
 */
export function guardedPool(pool: pg.Pool) {
  return {
    async connect() {
      const client = await pool.connect()
      let lost: Error | undefined
      const onError = (error: Error) => {
        lost = error
      }
      client.on('error', onError)
      return {
        query: client.query.bind(client) as pg.PoolClient['query'],
        /** `true` or an error ends the client (pg's own convention, which Kysely uses too). */
        release(failure?: Error | boolean) {
          client.off('error', onError)
          client.release(failure || lost)
        },
      }
    },
    end: () => pool.end(),
  }
}

/**
 * Runs the shared storage's SQL as named prepared statements: PostgreSQL parses and plans each one
 * once per connection instead of on every call (Kysely's own driver sends them unnamed). Each
 * distinct SQL text gets a name; the storage's texts are a fixed set, compiled once.
 */
export function pgExecutor(pool: pg.Pool): SqlExecutor {
  const names = new Map<string, string>()
  const statement = (text: string, values: readonly unknown[]) => {
    let name = names.get(text)
    if (!name) {
      // Named by the text itself: a connection keeps its prepared statements, and two storages on one
      // pool (or one after another) must never give one name to two texts.
      name = `flexsecure_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`
      names.set(text, name)
    }
    return { name, text, values: values as unknown[] }
  }
  const on = (client: Pick<pg.PoolClient, 'query'>): Omit<SqlExecutor, 'transaction'> => ({
    async all<Row>(text: string, values: readonly unknown[]) {
      return (await client.query(statement(text, values))).rows as Row[]
    },
    async run(text, values) {
      return (await client.query(statement(text, values))).rowCount ?? 0
    },
  })
  const outside = on(pool)
  const guarded = guardedPool(pool)
  return {
    ...outside,
    async transaction(work) {
      const client = await guarded.connect()
      const inside: SqlExecutor = { ...on(client), transaction: (nested) => nested(inside) }
      let failed: Error | undefined
      try {
        await client.query('BEGIN')
        const result = await work(inside)
        await client.query('COMMIT')
        return result
      } catch (error) {
        // A client that could not roll back may still be inside this transaction: never pool it.
        await client.query('ROLLBACK').catch((failure: Error) => {
          failed = failure
        })
        if (!failed && connectionLost(error)) failed = error as Error
        throw error
      } finally {
        client.release(failed)
      }
    },
  }
}
