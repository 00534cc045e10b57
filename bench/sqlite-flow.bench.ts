// What one login does inside SQLite, counted rather than timed: statements, transactions, WAL pages and
// time in SQLite per step, for FlexSecure, Better Auth and the raw floor, each on a connection whose
// prepared statements count themselves. The figures do not depend on the machine (time in SQLite does):
// a change to them is a change to what a login does. Run it with `pnpm bench:statements` in bench/.

import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import BetterSqlite3 from 'better-sqlite3'
import { fmt, type StatementTally, table, tallyStatement, wrap } from './bench-report.js'
import { setting, synchronousModes } from './bench-settings.js'
import { betterAuthContender, betterAuthVersion } from './better-auth-contender.js'
import { flexSecureContender } from './flexsecure-contender.js'
import { type Contender, type Flow, type StepRunner, synchronousOf } from './login-harness.js'
import { floorContender } from './sqlite-floor.js'

/** Users per contender and flow: a first lap gives each a history, the second lap is counted. */
const LINK_USERS = setting('BENCH_COUNT_USERS', 200)
/** Fewer for PIN logins: FlexSecure's cost two argon2 hashes each, which the pass does not measure. */
const PIN_USERS = Math.min(LINK_USERS, 50)

interface StepCount extends StatementTally {
  /** Pages appended to the write-ahead log: what a commit writes, and a checkpoint later copies back. */
  walPages: number
  /** Microseconds inside better-sqlite3's calls (SQLite's own work), BEGIN and COMMIT included. */
  sqliteUs: number
  /** Microseconds of the whole step, SQLite, JavaScript and hashing alike. */
  stepUs: number
}

const emptyCount = (): StepCount => ({
  statements: 0,
  walPages: 0,
  sqliteUs: 0,
  stepUs: 0,
  reads: 0,
  autocommit: 0,
  transactions: 0,
  rollbacks: 0,
  sql: [],
})

/** Opens a connection whose prepared statements report every run/get/all/iterate to `current()`. */
function countingDatabase(filename: string, current: () => StepCount | null): BetterSqlite3.Database {
  const database = new BetterSqlite3(filename)
  const prepare = database.prepare.bind(database)
  let inTransaction = false
  database.prepare = ((source: string) => {
    const statement = prepare(source)
    const methods = statement as unknown as Record<string, (...args: unknown[]) => unknown>
    for (const method of ['run', 'get', 'all', 'iterate']) {
      const original = methods[method] as (...args: unknown[]) => unknown
      methods[method] = (...args: unknown[]) => {
        const count = current()
        if (count) inTransaction = tallyStatement(count, source, inTransaction)
        if (!count) return original.apply(statement, args)
        const t0 = performance.now()
        try {
          return original.apply(statement, args)
        } finally {
          count.sqliteUs += (performance.now() - t0) * 1000
        }
      }
    }
    return statement
  }) as typeof database.prepare
  return database
}

/** WAL frames appended so far: with automatic checkpoints off, the log only grows. */
function walPages(database: BetterSqlite3.Database): number {
  const pageSize = database.pragma('page_size', { simple: true }) as number
  const bytes = statSync(`${database.name}-wal`, { throwIfNoEntry: false })?.size ?? 0
  return Math.max(0, (bytes - 32) / (pageSize + 24))
}

/**
 * Counts `flow` for `contender` (opened on a counting connection whose counts go to `current`): per
 * step, the mean over the second lap of every count, and the statements of the lap's last login, which
 * must be those of every login of the lap.
 */
async function countFlow(
  contender: Contender,
  flow: Flow,
  users: number,
  setCurrent: (count: StepCount | null) => void,
): Promise<Map<string, StepCount>> {
  const { database } = contender
  database.pragma('wal_autocheckpoint = 0')
  const logins: Map<string, StepCount>[] = []
  for (let n = 0; n < 2 * users; n++) {
    const login = new Map<string, StepCount>()
    const step: StepRunner = async (name, work) => {
      const count = emptyCount()
      login.set(name, count)
      const before = walPages(database)
      const t0 = performance.now()
      setCurrent(count)
      try {
        return await work()
      } finally {
        setCurrent(null)
        count.stepUs = (performance.now() - t0) * 1000
        count.walPages = walPages(database) - before
      }
    }
    await contender.login(flow, n % users, step)
    if (n >= users) logins.push(login)
  }
  database.pragma('wal_checkpoint(TRUNCATE)')
  const last = logins.at(-1) as Map<string, StepCount>
  const mean = (name: string, pick: (c: StepCount) => number) =>
    logins.reduce((sum, login) => sum + pick(login.get(name) as StepCount), 0) / logins.length
  const result = new Map<string, StepCount>()
  for (const [name, count] of last) {
    for (const login of logins)
      if (login.get(name)?.sql.join('|') !== count.sql.join('|'))
        throw new Error(`${contender.name} ${flow}: ${name} did not run the same statements in every login`)
    result.set(name, {
      ...count,
      walPages: mean(name, (c) => c.walPages),
      sqliteUs: mean(name, (c) => c.sqliteUs),
      stepUs: mean(name, (c) => c.stepUs),
    })
  }
  return result
}

/** The sum of a login's steps. */
function total(steps: Map<string, StepCount>): StepCount {
  const sum = emptyCount()
  for (const c of steps.values()) {
    sum.statements += c.statements
    sum.walPages += c.walPages
    sum.sqliteUs += c.sqliteUs
    sum.stepUs += c.stepUs
    sum.reads += c.reads
    sum.autocommit += c.autocommit
    sum.transactions += c.transactions
    sum.rollbacks += c.rollbacks
  }
  return sum
}

type Opener = (database: BetterSqlite3.Database, filename: string) => Promise<Contender>

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-bench-count-'))
  const openers: [string, Opener][] = [
    ...synchronousModes().map((mode): [string, Opener] => [
      `FlexSecure ${mode.toUpperCase()}`,
      (database, filename) =>
        flexSecureContender({ name: 'FlexSecure', filename, database, synchronous: mode, users: LINK_USERS }),
    ]),
    [
      `Better Auth ${betterAuthVersion()}`,
      (database, filename) => betterAuthContender({ name: 'Better Auth', filename, database }),
    ],
    ['floor', async (database) => floorContender('floor', database, 'normal')],
  ]
  const rows: string[][] = []
  const lists: string[] = []
  try {
    for (const [name, open] of openers) {
      let current: StepCount | null = null
      const filename = join(dir, `${rows.length}.db`)
      const database = countingDatabase(filename, () => current)
      const contender = await open(database, filename)
      const setting = `synchronous=${synchronousOf(contender.database)}${contender.durability ? ` (${contender.durability})` : ''}`
      try {
        for (const flow of contender.flows) {
          const users = flow === 'pin' ? PIN_USERS : LINK_USERS
          const steps = await countFlow(contender, flow, users, (c) => {
            current = c
          })
          const stepRows = [...steps].map(([step, c]) => countRow(step, c))
          const login = countRow('login', total(steps))
          rows.push(
            ...(steps.size > 1 ? [...stepRows, login] : [login]).map((row, i) => [
              i === 0 ? name : '',
              i === 0 ? flow : '',
              ...row,
            ]),
          )
          for (const [step, c] of steps) lists.push(wrap(`  ${name}, ${flow}, ${step}:`, c.sql, '    '))
        }
        lists.push(`  (${name}: ${setting})`)
      } finally {
        await contender.close()
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  console.log(`What one login does in SQLite: statements, transactions and WAL pages per login, counted`)
  console.log(
    `  (untimed: ${LINK_USERS} users per link flow, ${PIN_USERS} per PIN flow, the second lap of each counted)`,
  )
  console.log(
    table(
      'lllrrrrrrrr',
      [
        '',
        'flow',
        'step',
        'statements',
        'reads',
        'writes',
        'BEGIN..COMMIT',
        'autocommit',
        'WAL pages',
        'µs in SQLite',
        'µs in step',
      ],
      rows,
    ),
  )
  console.log(
    [
      '  statements leave out BEGIN and COMMIT; autocommit counts statements outside BEGIN..COMMIT, each',
      '  its own transaction; WAL pages are the pages its commits append to the write-ahead log (mean);',
      '  µs in SQLite: inside better-sqlite3 calls (statements, BEGIN and COMMIT; mean; checkpoints off);',
      '  µs in step: the whole step (JavaScript, hashing and SQLite). The statements, in order:',
    ].join('\n'),
  )
  for (const list of lists) console.log(list)
}

function countRow(step: string, c: StepCount): string[] {
  return [
    step,
    String(c.statements),
    String(c.reads),
    String(c.statements - c.reads),
    String(c.transactions),
    String(c.autocommit),
    fmt(c.walPages, 1),
    fmt(c.sqliteUs, 0),
    fmt(c.stepUs, 0),
  ]
}

await main()
