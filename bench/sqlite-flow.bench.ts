// The in-process passwordless flow (start, confirm, check) on a SQLite file, as a ratio to a floor
// measured in the same run: raw better-sqlite3 doing the four statements a minimal login needs.
// Run it with `pnpm bench` from the repository root. See README.md for how to read the output.

import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { type AccountHandle, createEngine, type Engine } from '@flexsecure/core'
import { type CaptureNotifier, captureNotifier } from '@flexsecure/core/testing'
import { applyPragmas, sqliteStorage } from '@flexsecure/sqlite'
import BetterSqlite3 from 'better-sqlite3'
import { fmt, median, table, wrap } from './bench-report.js'
import { LIFTED_SEND_LIMITS, setting } from './bench-settings.js'

const TARGET = 0.33
const ROUNDS = setting('BENCH_ROUNDS', 7)
const FLOOR_LOGINS = setting('BENCH_FLOOR_LOGINS', 2000)
const ENGINE_LOGINS = setting('BENCH_ENGINE_LOGINS', 1000)
const USERS = setting('BENCH_USERS', 1000)
const FLOOR_WARMUP = 2000
/** The counting pass: a first lap gives every user a challenge, a second lap is counted. */
const COUNTED_USERS = 200
/** Floor logins whose WAL pages are counted. */
const COUNTED_FLOOR_LOGINS = 400

const SYSTEM = 'app'
const SECRET = 'bench-secret-bench-secret-bench-secret'
const BASE_URL = 'https://auth.example.com'
const LIFETIME_MS = 15 * 60 * 1000

// ---------------------------------------------------------------------------------------------------
// The floor: a naive minimal login on raw prepared statements, each one its own autocommit transaction.

interface Floor {
  readonly db: BetterSqlite3.Database
  login(): void
}

function openFloor(filename: string): Floor {
  const db = new BetterSqlite3(filename)
  applyPragmas(db)
  db.exec(`
    CREATE TABLE challenges (
      id TEXT PRIMARY KEY,
      token_hash TEXT NOT NULL UNIQUE,
      status TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      completed_at INTEGER
    );
    CREATE TABLE audit (
      seq INTEGER PRIMARY KEY,
      challenge_id TEXT NOT NULL,
      type TEXT NOT NULL,
      at INTEGER NOT NULL
    );
  `)
  const insert = db.prepare(
    "INSERT INTO challenges (id, token_hash, status, created_at, expires_at) VALUES (?, ?, 'pending', ?, ?)",
  )
  const select = db.prepare('SELECT id, status, expires_at FROM challenges WHERE token_hash = ?')
  const confirm = db.prepare(
    "UPDATE challenges SET status = 'confirmed', completed_at = ? WHERE id = ? AND status = 'pending' AND expires_at > ?",
  )
  const audit = db.prepare('INSERT INTO audit (challenge_id, type, at) VALUES (?, ?, ?)')

  return {
    login() {
      // Same sizes as the engine's: a 24-character id and a 32-character (192-bit) link token.
      const id = randomBytes(18).toString('base64url')
      const token = randomBytes(24).toString('base64url')
      const now = Date.now()
      insert.run(id, createHash('sha256').update(token).digest('hex'), now, now + LIFETIME_MS)
      // The link comes back: hash the token again and find its challenge.
      const row = select.get(createHash('sha256').update(token).digest('hex')) as
        | { id: string; status: string; expires_at: number }
        | undefined
      if (row?.status !== 'pending') throw new Error('floor: challenge not found')
      if (confirm.run(now, row.id, now).changes !== 1) throw new Error('floor: challenge not confirmed')
      audit.run(row.id, 'login', now)
    },
    db,
  }
}

// ---------------------------------------------------------------------------------------------------
// The engine: the full passwordless flow through createEngine and the SQLite adapter.

interface EngineBench {
  readonly engine: Engine
  readonly acme: AccountHandle
  readonly notifier: CaptureNotifier
  readonly users: readonly string[]
}

async function openEngine(database: BetterSqlite3.Database, users: number): Promise<EngineBench> {
  const notifier = captureNotifier()
  const engine = createEngine({
    storage: sqliteStorage({ database }),
    notifier,
    secret: SECRET,
    links: { baseUrl: BASE_URL },
  })
  await engine.migrate()
  const { id } = await engine.accounts.create({ name: 'Bench', settings: { sendLimits: LIFTED_SEND_LIMITS } })
  const acme = engine.account(id)
  await acme.systems.create({ name: SYSTEM, policies: { passwordless: { enabled: true } } })
  const authids: string[] = []
  for (let i = 0; i < users; i++) {
    const authid = `u${i}`
    await acme.users.create({ authid, email: `${authid}@example.com` })
    await acme.users.assign(authid, [{ system: SYSTEM, method: 'passwordless' }])
    authids.push(authid)
  }
  return { engine, acme, notifier, users: authids }
}

/** Milliseconds spent in each step, summed over a run. */
interface StepTimes {
  start: number
  confirm: number
  check: number
}

/** One login: start, follow the link, poll. `n` picks the user round-robin. */
async function engineLogin(bench: EngineBench, n: number, times?: StepTimes): Promise<void> {
  const { acme, engine, notifier, users } = bench
  const authid = users[n % users.length] as string
  const t0 = performance.now()
  const started = await acme.start({ system: SYSTEM, authid })
  const t1 = performance.now()
  if (started.result !== 'success') throw new Error(`engine: start answered ${started.result}`)
  const token = notifier.last().token
  notifier.clear()
  if (!token) throw new Error('engine: no link token in the message')
  const t2 = performance.now()
  const confirmed = await engine.links.confirm(token)
  const t3 = performance.now()
  if (confirmed.result !== 'confirmed') throw new Error(`engine: confirm answered ${confirmed.result}`)
  const checked = await acme.check({ system: SYSTEM, authid })
  const t4 = performance.now()
  if (checked.result !== 'authenticated') throw new Error(`engine: check answered ${checked.result}`)
  if (times) {
    times.start += t1 - t0
    times.confirm += t3 - t2
    times.check += t4 - t3
  }
}

// ---------------------------------------------------------------------------------------------------
// The counting pass: the engine on its own connection whose statements count themselves.

const STEPS = ['start', 'confirm', 'check'] as const
type Step = (typeof STEPS)[number]

interface StepCount {
  statements: number
  /** Pages appended to the write-ahead log: what a commit writes, and a checkpoint later copies back. */
  walPages: number
  /** Microseconds inside better-sqlite3's calls (SQLite's own work), BEGIN and COMMIT included. */
  sqliteUs: number
  reads: number
  /** Statements run outside BEGIN ... COMMIT: each is a transaction of its own. */
  autocommit: number
  transactions: number
  rollbacks: number
  /** What ran, in order, BEGIN IMMEDIATE and COMMIT included. */
  sql: string[]
}

const emptyCount = (): StepCount => ({
  statements: 0,
  walPages: 0,
  sqliteUs: 0,
  reads: 0,
  autocommit: 0,
  transactions: 0,
  rollbacks: 0,
  sql: [],
})

/** A short name for a statement: its verb and table, e.g. `UPDATE fs_assignments`. */
function describe(source: string): string {
  const text = source.replace(/["`]/g, '').replace(/\s+/g, ' ').trim()
  const match =
    /^(insert) into (\w+)/i.exec(text) ??
    /^(update) (\w+)/i.exec(text) ??
    /^(delete) from (\w+)/i.exec(text) ??
    /^(select) .*? from (\w+)/i.exec(text)
  if (!match) return text.split(' ').slice(0, 2).join(' ').toUpperCase()
  const joins = (text.match(/\bjoin\b/gi) ?? []).length
  return [
    `${(match[1] as string).toUpperCase()} ${match[2]}`,
    joins > 0 ? ` +${joins} join${joins > 1 ? 's' : ''}` : '',
    /\breturning\b/i.test(text) ? ' RETURNING' : '',
  ].join('')
}

/** Opens a connection whose prepared statements report every run/get/all/iterate to `current()`. */
function countingDatabase(filename: string, current: () => StepCount | null): BetterSqlite3.Database {
  const database = new BetterSqlite3(filename)
  const prepare = database.prepare.bind(database)
  let inTransaction = false
  database.prepare = ((source: string) => {
    const statement = prepare(source)
    const verb = /^\s*(\w+)/.exec(source)?.[1]?.toUpperCase() ?? ''
    const name = describe(source)
    const methods = statement as unknown as Record<string, (...args: unknown[]) => unknown>
    for (const method of ['run', 'get', 'all', 'iterate']) {
      const original = methods[method] as (...args: unknown[]) => unknown
      methods[method] = (...args: unknown[]) => {
        const count = current()
        if (count) {
          if (verb === 'BEGIN') {
            count.transactions++
            inTransaction = true
            count.sql.push(source.trim().toUpperCase())
          } else if (verb === 'COMMIT' || verb === 'END' || verb === 'ROLLBACK') {
            if (verb === 'ROLLBACK') count.rollbacks++
            inTransaction = false
            count.sql.push(verb)
          } else {
            count.statements++
            if (verb === 'SELECT') count.reads++
            if (!inTransaction) count.autocommit++
            count.sql.push(name)
          }
        }
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

/** Per-login statements, transactions and WAL pages of the engine's flow: one flow's counts, mean pages. */
async function countEngine(filename: string): Promise<Record<Step, StepCount>> {
  let current: StepCount | null = null
  const database = countingDatabase(filename, () => current)
  const bench = await openEngine(database, COUNTED_USERS)
  const { acme, engine, notifier, users } = bench
  const flows: Record<Step, StepCount>[] = []
  try {
    database.pragma('wal_autocheckpoint = 0')
    const step = async <T>(count: StepCount, work: () => Promise<T>): Promise<T> => {
      const before = walPages(database)
      current = count
      try {
        return await work()
      } finally {
        current = null
        count.walPages = walPages(database) - before
      }
    }
    for (let n = 0; n < 2 * users.length; n++) {
      const authid = users[n % users.length] as string
      const flow = { start: emptyCount(), confirm: emptyCount(), check: emptyCount() }
      const started = await step(flow.start, () => acme.start({ system: SYSTEM, authid }))
      if (started.result !== 'success') throw new Error(`counting: start answered ${started.result}`)
      const token = notifier.last().token as string
      notifier.clear()
      const confirmed = await step(flow.confirm, () => engine.links.confirm(token))
      const checked = await step(flow.check, () => acme.check({ system: SYSTEM, authid }))
      if (confirmed.result !== 'confirmed' || checked.result !== 'authenticated')
        throw new Error(`counting: confirm answered ${confirmed.result}, check ${checked.result}`)
      // The first lap only gives every user a challenge; the second, like the timed rounds, replaces it.
      if (n >= users.length) flows.push(flow)
    }
  } finally {
    await engine.close()
    database.close()
  }
  const last = flows.at(-1) as Record<Step, StepCount>
  for (const step of STEPS) {
    for (const flow of flows)
      if (flow[step].sql.join('|') !== last[step].sql.join('|'))
        throw new Error(`counting: ${step} did not issue the same statements in every flow`)
    last[step].walPages = flows.reduce((sum, flow) => sum + flow[step].walPages, 0) / flows.length
    last[step].sqliteUs = flows.reduce((sum, flow) => sum + flow[step].sqliteUs, 0) / flows.length
  }
  return last
}

/** WAL pages per floor login, on a floor of its own with automatic checkpoints off. */
function countFloor(filename: string): number {
  const floor = openFloor(filename)
  try {
    floor.db.pragma('wal_autocheckpoint = 0')
    for (let i = 0; i < COUNTED_FLOOR_LOGINS; i++) floor.login()
    const before = walPages(floor.db)
    for (let i = 0; i < COUNTED_FLOOR_LOGINS; i++) floor.login()
    return (walPages(floor.db) - before) / COUNTED_FLOOR_LOGINS
  } finally {
    floor.db.close()
  }
}

// ---------------------------------------------------------------------------------------------------
// Running and reporting.

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-bench-'))
  let floor: Floor | undefined
  let engineDb: BetterSqlite3.Database | undefined
  let bench: EngineBench | undefined
  try {
    floor = openFloor(join(dir, 'floor.db'))
    engineDb = new BetterSqlite3(join(dir, 'engine.db'))
    bench = await openEngine(engineDb, USERS)
    const sqliteVersion = engineDb.prepare('SELECT sqlite_version()').pluck().get() as string

    console.log('FlexSecure bench: the in-process passwordless flow (start, confirm, check) on a SQLite file')
    console.log(
      `  node ${process.version}, SQLite ${sqliteVersion}, applyPragmas on both sides (WAL, synchronous=NORMAL)`,
    )
    console.log('  floor:  raw better-sqlite3, 4 autocommit statements per login: insert a challenge with a')
    console.log(
      '          SHA-256 token hash, select it by hash, update it where pending, insert an audit row',
    )
    console.log(
      `  engine: createEngine + sqliteStorage + captureNotifier, ${fmt(USERS)} users round-robin, so every`,
    )
    console.log("          start supersedes the same user's earlier (finished) challenge")
    console.log(
      `  ${ROUNDS} rounds after a warm-up, ${fmt(FLOOR_LOGINS)} floor and ${fmt(ENGINE_LOGINS)} engine logins each,` +
        ' alternating which goes first',
    )
    console.log()

    // Warm-up: JIT both paths, and give every engine user a finished challenge before timing starts.
    for (let i = 0; i < FLOOR_WARMUP; i++) floor.login()
    let n = 0
    for (let i = 0; i < Math.max(USERS, 1000); i++) await engineLogin(bench, n++)

    const floorRates: number[] = []
    const engineRates: number[] = []
    const ratios: number[] = []
    const stepTimes: StepTimes[] = []
    const runFloor = (floor: Floor) => {
      const t0 = performance.now()
      for (let i = 0; i < FLOOR_LOGINS; i++) floor.login()
      return FLOOR_LOGINS / ((performance.now() - t0) / 1000)
    }
    const runEngine = async (bench: EngineBench, times: StepTimes) => {
      const t0 = performance.now()
      for (let i = 0; i < ENGINE_LOGINS; i++) await engineLogin(bench, n++, times)
      return ENGINE_LOGINS / ((performance.now() - t0) / 1000)
    }
    const rows: string[][] = []
    for (let round = 0; round < ROUNDS; round++) {
      const times: StepTimes = { start: 0, confirm: 0, check: 0 }
      let floorRate: number
      let engineRate: number
      if (round % 2 === 0) {
        floorRate = runFloor(floor)
        engineRate = await runEngine(bench, times)
      } else {
        engineRate = await runEngine(bench, times)
        floorRate = runFloor(floor)
      }
      floorRates.push(floorRate)
      engineRates.push(engineRate)
      ratios.push(engineRate / floorRate)
      stepTimes.push(times)
      rows.push([
        String(round + 1),
        round % 2 === 0 ? 'floor' : 'engine',
        fmt(floorRate),
        fmt(engineRate),
        fmt(engineRate / floorRate, 3),
      ])
    }
    const ratio = median(ratios)
    const floorRate = median(floorRates)
    rows.push(['median', '', fmt(floorRate), fmt(median(engineRates)), fmt(ratio, 3)])
    console.log(table('llrrr', ['round', 'first', 'floor logins/s', 'engine logins/s', 'engine/floor'], rows))
    console.log()

    const perLogin = (step: Step) => median(stepTimes.map((t) => (t[step] / ENGINE_LOGINS) * 1000))
    console.log('time per login, µs (median over rounds)')
    console.log(
      table(
        'lrrrr',
        ['', 'start', 'confirm', 'check', 'whole login'],
        [
          [
            'engine',
            fmt(perLogin('start'), 1),
            fmt(perLogin('confirm'), 1),
            fmt(perLogin('check'), 1),
            fmt(1e6 / median(engineRates), 1),
          ],
          ['floor', '', '', '', fmt(1e6 / floorRate, 1)],
        ],
      ),
    )
    console.log()

    await bench.engine.close()
    bench = undefined
    engineDb.close()
    floor.db.close()
    floor = undefined

    // Counted after the timed rounds, on files of their own: the wrapped statements never touch the timed runs.
    const counts = await countEngine(join(dir, 'counted-engine.db'))
    const floorPages = countFloor(join(dir, 'counted-floor.db'))
    const total = STEPS.reduce(
      (sum, step) => ({
        statements: sum.statements + counts[step].statements,
        walPages: sum.walPages + counts[step].walPages,
        sqliteUs: sum.sqliteUs + counts[step].sqliteUs,
        reads: sum.reads + counts[step].reads,
        autocommit: sum.autocommit + counts[step].autocommit,
        transactions: sum.transactions + counts[step].transactions,
        rollbacks: sum.rollbacks + counts[step].rollbacks,
        sql: [],
      }),
      emptyCount(),
    )
    const countRow = (name: string, c: StepCount) => [
      name,
      String(c.statements),
      String(c.reads),
      String(c.statements - c.reads),
      String(c.transactions),
      String(c.autocommit),
      fmt(c.walPages, 1),
      fmt(c.sqliteUs, 0),
    ]
    console.log(`statements and transactions per login (a separate, untimed pass: ${COUNTED_USERS} flows)`)
    console.log(
      table(
        'lrrrrrrr',
        ['', 'statements', 'reads', 'writes', 'BEGIN..COMMIT', 'autocommit', 'WAL pages', 'µs in SQLite'],
        [
          ...STEPS.map((step) => countRow(`engine ${step}`, counts[step])),
          countRow('engine login', total),
          ['floor login', '4', '1', '3', '0', '4', fmt(floorPages, 1), ''],
        ],
      ),
    )
    console.log(
      '  statements leave out BEGIN IMMEDIATE and COMMIT; autocommit counts statements outside BEGIN..COMMIT,',
    )
    console.log(
      '  each its own transaction; WAL pages are the pages its commits append to the write-ahead log (mean)',
    )
    console.log(
      '  µs in SQLite: time inside better-sqlite3 calls (the statements, BEGIN and COMMIT; mean; checkpoints off)',
    )
    if (total.rollbacks > 0) console.log(`  rollbacks: ${total.rollbacks}`)
    for (const step of STEPS) console.log(wrap(`  ${step}:`, counts[step].sql, '    '))
    console.log()

    // What SQLite alone spends on the engine's statements bounds the ratio whatever node does.
    const floorUs = 1e6 / floorRate
    const bound = floorUs / total.sqliteUs
    console.log(
      `bound: the engine's statements alone take ${fmt(total.sqliteUs, 0)} µs per login inside SQLite; a whole floor`,
    )
    console.log(
      `  login takes ${fmt(floorUs, 1)} µs. With no time at all in node, the ratio could not exceed ${fmt(bound, 2)}.`,
    )
    console.log()
    console.log(`ratio engine/floor: ${ratio.toFixed(2)} (target >= ${TARGET})`)
  } finally {
    if (bench) await bench.engine.close()
    if (engineDb?.open) engineDb.close()
    if (floor?.db.open) floor.db.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
