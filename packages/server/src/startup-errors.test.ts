import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { type AddressInfo, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mysqlReachable } from '../../../adapters/mysql/test/test-database.js'
import { postgresReachable } from '../../../adapters/postgres/test/test-database.js'
import { runCli } from '../test/serve-process.js'
import { describeStartupError } from './startup-errors.js'

const SECRET = 's'.repeat(40)

/** Whether every folder above this checkout lets others through: as root the test runs the CLI as nobody. */
function othersCanReachCheckout(): boolean {
  for (let at = new URL('..', import.meta.url).pathname; ; at = dirname(at)) {
    if ((statSync(at).mode & 0o001) === 0) return false
    if (dirname(at) === at) return true
  }
}
const asRoot = process.getuid?.() === 0

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-startup-'))
  chmodSync(dir, 0o755)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** One line on stderr, no stack trace, the given exit code. */
function expectOneLine(run: ReturnType<typeof runCli>, code: number, says: RegExp) {
  expect(run.code, run.out).toBe(code)
  expect(run.stderr.trim().split('\n')).toHaveLength(1)
  expect(run.stderr).toMatch(says)
  expect(run.stderr).not.toMatch(/\n\s+at /)
}

describe('start-up errors: one line that says what to do, no stack trace', () => {
  it('port in use', async () => {
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const run = runCli(['serve'], {
        FLEXSECURE_DB: join(dir, 'port', 'fs.db'),
        FLEXSECURE_PORT: String(port),
        FLEXSECURE_SECRET: SECRET,
      })
      expectOneLine(
        run,
        1,
        new RegExp(
          `port ${port} on 127\\.0\\.0\\.1 is already in use: stop the other process or set FLEXSECURE_PORT`,
        ),
      )
    } finally {
      blocker.close()
    }
  }, 60_000)

  it('not a database file', () => {
    const file = join(dir, 'notes.txt')
    writeFileSync(file, 'these are my notes, not a database\n'.repeat(200))
    const run = runCli(['migrate'], { FLEXSECURE_DB: file, FLEXSECURE_SECRET: SECRET })
    expectOneLine(
      run,
      1,
      /notes\.txt is not a SQLite database: point FLEXSECURE_DB at a FlexSecure database file/,
    )
  }, 60_000)

  // As root the CLI runs as nobody (root writes anywhere), which needs a checkout others can read: a
  // clone in a private temporary folder (0700) is not one, and there this case cannot be shown.
  it.skipIf(asRoot && !othersCanReachCheckout())(
    'a directory it may not write (skipped as root in a checkout nobody else can read)',
    () => {
      const locked = join(dir, 'locked')
      mkdirSync(locked, { mode: 0o555 })
      chmodSync(locked, 0o555)
      // root writes anywhere: run as nobody there, as a service user would be.
      const as = asRoot ? { uid: 65534, gid: 65534 } : {}
      const run = runCli(
        ['migrate'],
        { FLEXSECURE_DB: join(locked, 'data', 'fs.db'), FLEXSECURE_SECRET: SECRET },
        undefined,
        as,
      )
      expectOneLine(
        run,
        1,
        /cannot write .*locked.* \(EACCES\): make its directory writable by the user running flexsecure/,
      )
    },
    60_000,
  )

  it('a database server nothing answers on, with its password kept out of the message', () => {
    const run = runCli(['migrate'], {
      FLEXSECURE_DB: 'postgres://app:hunter2@127.0.0.1:1/auth',
      FLEXSECURE_SECRET: SECRET,
    })
    expectOneLine(
      run,
      1,
      /cannot reach the database server at postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/auth \(ECONNREFUSED\)/,
    )
    expect(run.out).not.toContain('hunter2')
  }, 60_000)

  it('a database server that takes the connection and never answers, within the URL’s connect_timeout', async () => {
    // The kernel completes the handshake for a listener that never reads, so nothing here needs to run
    // while the CLI waits.
    const silent = createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = silent.address() as AddressInfo
      const run = runCli(['migrate'], {
        FLEXSECURE_DB: `postgres://app:hunter2@127.0.0.1:${port}/auth?connect_timeout=1`,
        FLEXSECURE_SECRET: SECRET,
      })
      expectOneLine(
        run,
        1,
        /the database server at postgres:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/auth\S* did not answer within the connect timeout/,
      )
      expect(run.out).not.toContain('hunter2')
    } finally {
      silent.close()
    }
  }, 60_000)

  it('with FLEXSECURE_SECRET set, a fresh data folder is still created (0700)', () => {
    const fresh = join(dir, 'fresh', 'data')
    const run = runCli(['migrate'], { FLEXSECURE_DB: join(fresh, 'fs.db'), FLEXSECURE_SECRET: SECRET })
    expect(run.code, run.out).toBe(0)
    expect(statSync(fresh).mode & 0o777).toBe(0o700)
    expect(statSync(join(fresh, 'fs.db')).mode & 0o777).toBe(0o600)
  }, 60_000)
})

describe('start-up errors on database servers', async () => {
  const servers = [
    ['PostgreSQL', await postgresReachable(), 'postgres://postgres@127.0.0.1:5432/flexsecure_missing_db'],
    ['MySQL', await mysqlReachable(), 'mysql://root@127.0.0.1:3306/flexsecure_missing_db'],
  ] as const
  for (const [name, reachable, url] of servers)
    (reachable ? it : it.skip)(
      `a ${name} database that does not exist${reachable ? '' : ` (not run: no ${name} server answers)`}`,
      () => {
        const run = runCli(['migrate'], { FLEXSECURE_DB: url, FLEXSECURE_SECRET: SECRET })
        const printed = url.replace(/[/.]/g, (c) => `\\${c}`)
        expectOneLine(run, 1, new RegExp(`the database named in ${printed} does not exist: create it`))
      },
      60_000,
    )
})

describe('a native module that was never built', () => {
  it("says how to build better-sqlite3's when its binding file is missing", () => {
    // The error better-sqlite3's loader (`bindings`) throws when no build exists, made by that loader.
    const fromSqlite = createRequire(createRequire(import.meta.url).resolve('better-sqlite3'))
    const bindings = fromSqlite('bindings') as (options: object) => unknown
    const empty = mkdtempSync(join(tmpdir(), 'flexsecure-no-build-'))
    let missing: unknown
    try {
      bindings({ bindings: 'better_sqlite3.node', module_root: empty })
    } catch (error) {
      missing = error
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
    expect(String(missing)).toMatch(/Could not locate the bindings file/)
    expect(describeStartupError(missing, { database: 'data/fs.db' })).toMatch(
      /^better-sqlite3's native module was never built .* npm pkg set allowScripts\.better-sqlite3=true allowScripts\.argon2=true --json && npm rebuild better-sqlite3 argon2/,
    )
  })
})
