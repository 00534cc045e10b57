import { createHash } from 'node:crypto'
import type { SqlExecutor } from '@flexsecure/kysely'
import type pg from 'pg'

/**
 * The connection was already gone when the statement went out: the server ended the session
 * (`57P01` administrator command, `57P02` crash, `57P05` idle_session_timeout), or the socket closed
 * under the driver. The pool drops such a client, so running again takes a new one. (Not a timeout
 * while connecting: running again would only wait as long again.)
 */
export function connectionLost(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  if (code === '57P01' || code === '57P02' || code === '57P05') return true
  if (code === 'ECONNRESET' || code === 'EPIPE') return true
  return typeof message === 'string' && /^Connection terminated unexpectedly/.test(message)
}

/**
 * The pool as Kysely sees it (migrations): every client it checks out listens for `'error'` while it is
 * out, as `pgExecutor`'s transactions do. A checked-out client has no listener of pg-pool's, and an
 * unheard `'error'` (the server ending the connection mid-migration, or while waiting for the migration
 * lock) would end the host process; the query in flight fails with the error anyway.
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
        release() {
          client.off('error', onError)
          client.release(lost)
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
  const on = (client: pg.Pool | pg.PoolClient): Omit<SqlExecutor, 'transaction'> => ({
    async all<Row>(text: string, values: readonly unknown[]) {
      return (await client.query(statement(text, values))).rows as Row[]
    },
    async run(text, values) {
      return (await client.query(statement(text, values))).rowCount ?? 0
    },
  })
  const outside = on(pool)
  return {
    ...outside,
    async transaction(work) {
      const client = await pool.connect()
      const inside: SqlExecutor = { ...on(client), transaction: (nested) => nested(inside) }
      let lost: Error | undefined
      // A checked-out client whose connection drops emits 'error'; unheard, that would end the process.
      // The query in flight fails with it too, so noting it is enough.
      const onError = (error: Error) => {
        lost = error
      }
      client.on('error', onError)
      try {
        await client.query('BEGIN')
        const result = await work(inside)
        await client.query('COMMIT')
        return result
      } catch (error) {
        // A client that could not roll back may still be inside this transaction: never pool it.
        await client.query('ROLLBACK').catch((failure: Error) => {
          lost ??= failure
        })
        if (connectionLost(error)) lost ??= error as Error
        throw error
      } finally {
        // A client whose connection is gone must not go back to the pool: releasing it with the error ends it.
        client.off('error', onError)
        client.release(lost)
      }
    },
  }
}
