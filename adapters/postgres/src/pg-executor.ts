import type { SqlExecutor } from '@flexsecure/kysely'
import type pg from 'pg'

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
      name = `flexsecure_${names.size}`
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
      try {
        await client.query('BEGIN')
        const result = await work(inside)
        await client.query('COMMIT')
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw error
      } finally {
        client.release()
      }
    },
  }
}
