// A throwaway PostgreSQL database for one test run: created on first use, emptied between tests,
// dropped at the end. Points at FLEXSECURE_TEST_PG_URL, else the local server with trust auth.
import { randomBytes } from 'node:crypto'
import { FLEXSECURE_TABLES } from '@flexsecure/kysely'
import pg from 'pg'

export const SERVER_URL = process.env.FLEXSECURE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const TABLES = FLEXSECURE_TABLES

/**
 * Whether the server answers. When it does not: under FLEXSECURE_REQUIRE_PG=1 (CI) this throws;
 * otherwise it prints one loud line and the suites skip.
 */
export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch (error) {
    const why = `PostgreSQL is unreachable at ${SERVER_URL} (${(error as Error).message})`
    if (process.env.FLEXSECURE_REQUIRE_PG === '1')
      throw new Error(`${why}, and FLEXSECURE_REQUIRE_PG=1 requires it`)
    console.warn(
      `\n!!! SKIPPING the PostgreSQL suites: ${why}. Point FLEXSECURE_TEST_PG_URL at a server (a role that may CREATE DATABASE) to run them.\n`,
    )
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** One database for this test file: `url` for storages, `reset()` between tests, `drop()` at the end. */
export function testDatabase() {
  const name = `flexsecure_test_${randomBytes(6).toString('hex')}`
  const server = new URL(SERVER_URL)
  const url = new URL(SERVER_URL)
  url.pathname = `/${name}`
  let created: Promise<void> | undefined
  let admin: pg.Client | undefined

  const create = () => {
    created ??= (async () => {
      const client = new pg.Client({ connectionString: server.href })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE ${name}`)
      } finally {
        await client.end()
      }
      admin = new pg.Client({ connectionString: url.href })
      await admin.connect()
    })()
    return created
  }

  return {
    url: url.href,
    /** Creates the database on first call; afterwards empties FlexSecure's tables. */
    async reset() {
      await create()
      const { rows } = await (admin as pg.Client).query(`SELECT to_regclass('fs_accounts') AS present`)
      if (rows[0]?.present) await (admin as pg.Client).query(`TRUNCATE ${TABLES.join(', ')} CASCADE`)
    },
    async drop() {
      if (!created) return
      await admin?.end()
      const client = new pg.Client({ connectionString: server.href })
      await client.connect()
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await client.end()
      }
    },
  }
}
