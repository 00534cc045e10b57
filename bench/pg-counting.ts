// The PostgreSQL flow bench's counting pass, untimed: the engine on a pool whose connections count and
// time their statements, per step; the WAL each step appends; how long every login holds the account's
// hot rows.

import { performance } from 'node:perf_hooks'
import type { Engine } from '@flexsecure/core'
import type pg from 'pg'
import { fmt, type StatementTally, table, tallyStatement, wrap } from './bench-report.js'
import { engineBench, openFloor, openPool, seedAccount } from './pg-contenders.js'
import { COUNTED_FLOOR_LOGINS, COUNTED_USERS, SPLIT_ACCOUNTS, SYSTEM } from './pg-settings.js'

export const STEPS = ['start', 'confirm', 'check'] as const
export type Step = (typeof STEPS)[number]

export interface StepCount extends StatementTally {
  /** Bytes the step appended to the write-ahead log (mean, once summed). */
  walBytes: number
  /** Time spent waiting on statements (BEGIN and COMMIT included), ms. */
  dbMs: number
  /** The whole step, ms. */
  stepMs: number
  /** How long each of `sql` took, ms (the mean over flows, once summed). */
  times: number[]
  /** When each of `sql` was sent and when its answer came, performance.now() ms. */
  sent: number[]
  answered: number[]
}

export const emptyCount = (): StepCount => ({
  statements: 0,
  reads: 0,
  autocommit: 0,
  transactions: 0,
  rollbacks: 0,
  walBytes: 0,
  dbMs: 0,
  stepMs: 0,
  sql: [],
  times: [],
  sent: [],
  answered: [],
})

/** A pool whose clients report every statement to `current()`. */
export function countingPool(url: string, current: () => StepCount | null): pg.Pool {
  const pool = openPool(url)
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    let inTransaction = false
    ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const count = current()
      const first = args[0] as string | { text?: string }
      const source = typeof first === 'string' ? first : (first?.text ?? '')
      if (count) inTransaction = tallyStatement(count, source, inTransaction)
      const index = count ? count.sql.length - 1 : -1
      const t0 = performance.now()
      const result = query(...args)
      if (count && result instanceof Promise)
        return result.finally(() => {
          const t1 = performance.now()
          count.dbMs += t1 - t0
          count.times[index] = t1 - t0
          count.sent[index] = t0
          count.answered[index] = t1
        })
      return result
    }
  })
  return pool
}

/** Bytes written to the write-ahead log so far, server-wide. */
export async function walPosition(admin: pg.Client): Promise<number> {
  const { rows } = await admin.query<{ lsn: string }>(
    "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::text AS lsn",
  )
  return Number(rows[0]?.lsn)
}

/** From statement `from` being sent until the COMMIT that ends its transaction answers, ms (its locks' hold). */
export function heldFrom(count: StepCount, from: number): number {
  for (let i = from; i < count.sql.length; i++)
    if (count.sql[i] === 'COMMIT' || count.sql[i] === 'ROLLBACK')
      return (count.answered[i] as number) - (count.sent[from] as number)
  return 0
}

export interface Counted {
  readonly steps: Record<Step, StepCount>
  /** Per login, µs the account's audit head row stays locked: from each `UPDATE fs_audit_heads … RETURNING` to its COMMIT. */
  readonly headHeld: number
  /** Transactions per login that lock the audit head. */
  readonly headTransactions: number
  /** Per login, µs the account-wide send counter stays locked: from start's last send-limit upsert to its COMMIT. */
  readonly counterHeld: number
}

/** Per-login statements, transactions, WAL and time of the engine's flow, on an account of its own. */
export async function countEngine(url: string, admin: pg.Client, seeder: Engine): Promise<Counted> {
  let current: StepCount | null = null
  const pool = countingPool(url, () => current)
  const users = Array.from({ length: COUNTED_USERS }, (_, i) => `counted${i}`)
  const accountId = await seedAccount(seeder, 'Counted', users)
  const bench = engineBench(pool, accountId, users)
  const { acme, engine, notifier } = bench
  const flows: Record<Step, StepCount>[] = []
  try {
    const step = async <T>(count: StepCount, work: () => Promise<T>): Promise<T> => {
      const before = await walPosition(admin)
      current = count
      const t0 = performance.now()
      try {
        return await work()
      } finally {
        count.stepMs = performance.now() - t0
        current = null
        count.walBytes = (await walPosition(admin)) - before
      }
    }
    for (let n = 0; n < 2 * users.length; n++) {
      const authid = users[n % users.length] as string
      const flow = { start: emptyCount(), confirm: emptyCount(), check: emptyCount() }
      // The delivery's outcome is written behind the send; it is the start's, so the step waits for it
      // (the event follows the write).
      const started = await step(flow.start, async () => {
        const recorded = new Promise((resolve) => engine.events.once('challenge.delivery', resolve))
        const answer = await acme.start({ system: SYSTEM, authid })
        await recorded
        return answer
      })
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
    await bench.close()
  }
  const last = flows.at(-1) as Record<Step, StepCount>
  const heads = STEPS.flatMap((step) =>
    last[step].sql.flatMap((statement, i) =>
      statement === 'UPDATE fs_audit_heads RETURNING' ? [{ step, i }] : [],
    ),
  )
  // The engine takes the account-wide limit last (login/start.ts: user, destination, [key], account).
  const firstCommit = last.start.sql.indexOf('COMMIT')
  const counter = last.start.sql.lastIndexOf('INSERT fs_rate_limits ON CONFLICT', firstCommit)
  const meanOver = (value: (flow: Record<Step, StepCount>) => number) =>
    flows.reduce((sum, flow) => sum + value(flow), 0) / flows.length
  const headHeld = meanOver((flow) => heads.reduce((sum, { step, i }) => sum + heldFrom(flow[step], i), 0))
  const counterHeld = counter < 0 ? Number.NaN : meanOver((flow) => heldFrom(flow.start, counter))
  for (const step of STEPS) {
    for (const flow of flows)
      if (flow[step].sql.join('|') !== last[step].sql.join('|'))
        throw new Error(`counting: ${step} did not issue the same statements in every flow`)
    const mean = (value: (count: StepCount) => number) =>
      flows.reduce((sum, flow) => sum + value(flow[step]), 0) / flows.length
    last[step].walBytes = mean((c) => c.walBytes)
    last[step].dbMs = mean((c) => c.dbMs)
    last[step].stepMs = mean((c) => c.stepMs)
    last[step].times = last[step].sql.map((_, i) => mean((c) => c.times[i] ?? 0))
  }
  return {
    steps: last,
    headHeld: headHeld * 1000,
    headTransactions: heads.length,
    counterHeld: counterHeld * 1000,
  }
}

/** WAL bytes per floor login, mean over COUNTED_FLOOR_LOGINS. */
export async function countFloor(url: string, admin: pg.Client): Promise<number> {
  const floor = openFloor(url)
  try {
    for (let i = 0; i < 50; i++) await floor.login(i)
    const before = await walPosition(admin)
    for (let i = 0; i < COUNTED_FLOOR_LOGINS; i++) await floor.login(i)
    return ((await walPosition(admin)) - before) / COUNTED_FLOOR_LOGINS
  } finally {
    await floor.close()
  }
}

/** The counting pass's tables: statements, transactions, round trips and WAL per step and login. */
export function printCounts(counted: Counted, floorWal: number, floorRate: number): void {
  const counts = counted.steps
  const total = STEPS.reduce(
    (sum, step) => ({
      statements: sum.statements + counts[step].statements,
      reads: sum.reads + counts[step].reads,
      autocommit: sum.autocommit + counts[step].autocommit,
      transactions: sum.transactions + counts[step].transactions,
      rollbacks: sum.rollbacks + counts[step].rollbacks,
      walBytes: sum.walBytes + counts[step].walBytes,
      dbMs: sum.dbMs + counts[step].dbMs,
      stepMs: sum.stepMs + counts[step].stepMs,
      sql: [],
      times: [],
      sent: [],
      answered: [],
    }),
    emptyCount(),
  )
  const countRow = (label: string, c: StepCount) => [
    label,
    String(c.statements),
    String(c.reads),
    String(c.statements - c.reads),
    String(c.transactions),
    String(c.autocommit),
    String(c.statements + 2 * c.transactions),
    fmt(c.walBytes),
    fmt(c.dbMs * 1000),
    fmt((c.stepMs - c.dbMs) * 1000),
  ]
  console.log(`statements and transactions per login (a separate, untimed pass: ${COUNTED_USERS} flows)`)
  console.log(
    table(
      'lrrrrrrrrr',
      [
        '',
        'statements',
        'reads',
        'writes',
        'BEGIN..COMMIT',
        'autocommit',
        'round trips',
        'WAL bytes',
        'µs in queries',
        'µs in node',
      ],
      [
        ...STEPS.map((step) => countRow(`engine ${step}`, counts[step])),
        countRow('engine login', total),
        ['floor login', '4', '1', '3', '0', '4', '4', fmt(floorWal), fmt(1e6 / floorRate), ''],
      ],
    ),
  )
  console.log(
    [
      '  statements leave out BEGIN and COMMIT; autocommit counts statements outside BEGIN..COMMIT, each its',
      '  own transaction; round trips count BEGIN and COMMIT too; WAL bytes: what its commits append to the',
      '  write-ahead log (mean); µs in queries: time awaiting statements, BEGIN and COMMIT included (round',
      "  trip, PostgreSQL's work, commit flush); µs in node: the rest of the step (mean; floor: its 1p time)",
    ].join('\n'),
  )
  if (total.rollbacks > 0) console.log(`  rollbacks: ${total.rollbacks}`)
  console.log('  each step in order, with the mean µs each statement took:')
  for (const step of STEPS)
    console.log(
      wrap(
        `  ${step}:`,
        counts[step].sql.map((statement, i) => `${statement} ${fmt((counts[step].times[i] ?? 0) * 1000)}`),
        '    ',
      ),
    )
  console.log()
}

/** The rows every login of one account locks, one login at a time: a ceiling no number of processes lifts. */
export function printLocks(counted: Counted, engineRateN: number, p: number): void {
  const percent = (share: number) => `${fmt(share * 100)}%`
  const ceiling = 1e6 / counted.headHeld
  console.log(
    'rows that every login of the account locks until its commit (from the counted pass, 1 process)',
  )
  console.log(
    [
      `  the account's audit head (fs_audit_heads): ${fmt(counted.headHeld)} µs per login, in` +
        ` ${counted.headTransactions} transactions, each from its`,
      '    UPDATE fs_audit_heads … RETURNING until its COMMIT answers',
      Number.isNaN(counted.counterHeld)
        ? '  the account-wide send counter: not taken'
        : `  the account-wide send counter (fs_rate_limits): ${fmt(counted.counterHeld)} µs per login, in` +
          " start's first\n    transaction, from its upsert until the COMMIT answers",
      `  one holder at a time: one account cannot exceed about 1e6 / ${fmt(counted.headHeld)} =` +
        ` ${fmt(ceiling)} logins/s with any number of`,
      ...(SPLIT_ACCOUNTS
        ? [
            `  processes, at these latencies; the ${p}-process engine ran ${fmt(engineRateN)} logins/s on ${p}` +
              ` accounts, ${fmt(engineRateN / p)} on each`,
          ]
        : [
            `  processes, at these latencies; the ${p}-process engine ran ${fmt(engineRateN)} logins/s` +
              ` (${percent(engineRateN / ceiling)} of it), and there every`,
            '  holder that waits for a core holds the lock longer',
          ]),
      '',
    ].join('\n'),
  )
}
