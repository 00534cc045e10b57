// A throwaway MySQL/MariaDB database for one test run: created on first use, emptied between tests,
// dropped at the end. Points at FLEXSECURE_TEST_MYSQL_URL, else the local server as root.
import { randomBytes } from 'node:crypto'
import { FLEXSECURE_TABLES } from '@flexsecure/kysely'
import mysql from 'mysql2/promise'

export const SERVER_URL = process.env.FLEXSECURE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'
const TABLES = FLEXSECURE_TABLES

/** Whether the server answers; without it, FLEXSECURE_REQUIRE_MYSQL=1 (CI) throws, else one loud line. */
export async function mysqlReachable(): Promise<boolean> {
  try {
    const connection = await mysql.createConnection({ uri: SERVER_URL, connectTimeout: 3000 })
    await connection.end()
    return true
  } catch (error) {
    const why = `MySQL/MariaDB is unreachable at ${SERVER_URL} (${(error as Error).message})`
    if (process.env.FLEXSECURE_REQUIRE_MYSQL === '1')
      throw new Error(`${why}, and FLEXSECURE_REQUIRE_MYSQL=1 requires it`)
    console.warn(
      `\n!!! SKIPPING the MySQL suites: ${why}. Point FLEXSECURE_TEST_MYSQL_URL at a server (a user that may CREATE DATABASE) to run them.\n`,
    )
    return false
  }
}

export function testDatabase() {
  const name = `flexsecure_test_${randomBytes(6).toString('hex')}`
  const url = new URL(SERVER_URL)
  url.pathname = `/${name}`
  let created: Promise<void> | undefined
  let admin: mysql.Connection | undefined
  return {
    url: url.href,
    async reset() {
      created ??= (async () => {
        const connection = await mysql.createConnection({ uri: SERVER_URL })
        await connection.query(`CREATE DATABASE ${name}`)
        await connection.end()
        admin = await mysql.createConnection({ uri: url.href })
      })()
      await created
      const [rows] = await (admin as mysql.Connection).query(`SHOW TABLES LIKE 'fs_accounts'`)
      if ((rows as unknown[]).length === 0) return
      await (admin as mysql.Connection).query('SET FOREIGN_KEY_CHECKS = 0')
      for (const table of TABLES) await (admin as mysql.Connection).query(`TRUNCATE TABLE ${table}`)
      await (admin as mysql.Connection).query('SET FOREIGN_KEY_CHECKS = 1')
    },
    async drop() {
      if (!created) return
      await admin?.end()
      const connection = await mysql.createConnection({ uri: SERVER_URL })
      await connection.query(`DROP DATABASE IF EXISTS ${name}`)
      await connection.end()
    },
  }
}
