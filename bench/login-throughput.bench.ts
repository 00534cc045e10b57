// FlexSecure against Better Auth, in one process, each on its own SQLite file: a link login and a PIN
// login at 1 and at 64 logins in flight, with the raw floor, in interleaved rounds; one table.
// Run it with `pnpm bench` from the repository root (or in bench/). README.md says
// what each side does per login and how to read the table.

import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { fmt, median, spread, table } from './bench-report.js'
import { synchronousModes } from './bench-settings.js'
import { betterAuthContender, betterAuthVersion } from './better-auth-contender.js'
import { flexSecureContender } from './flexsecure-contender.js'
import type { IsolatedAnswer, IsolatedKind, IsolatedRequest } from './isolated-run.js'
import {
  type Cell,
  type Contender,
  loadLine,
  loadNow,
  machineLine,
  measureRounds,
  type Results,
  resultKey,
  roundRatios,
  runSettings,
  runsIn,
  synchronousOf,
  threadsLine,
  warmUp,
} from './login-harness.js'
import { floorContender } from './sqlite-floor.js'

const SETTINGS = runSettings(7)
const { rounds: ROUNDS, seconds: SECONDS, users: USERS } = SETTINGS
/** PIN logins per contender before timing: enough to compile the path (a PIN path that JIT-compiles). */
const PIN_WARMUP = 64

const CELLS: readonly Cell[] = [
  { flow: 'link', inFlight: 1 },
  { flow: 'link', inFlight: SETTINGS.inFlight },
  { flow: 'pin', inFlight: 1 },
  { flow: 'pin', inFlight: SETTINGS.inFlight },
]

/** What the table needs of a contender: the shared run has the contenders, the isolated one their names. */
type Entrant = Pick<Contender, 'name' | 'flows' | 'maxInFlight'>

function report(results: Results, contenders: readonly Entrant[], baseline: Entrant): string {
  const rows: string[][] = []
  for (const cell of CELLS) {
    for (const contender of contenders) {
      // The floor runs link logins at 1 in flight only; it is shown once, under that cell.
      if (!runsIn(contender, cell)) continue
      const runs = results.get(resultKey(contender.name, cell)) ?? []
      const rates = runs.map((r) => r.rate)
      const ratio =
        contender === baseline
          ? ['', '', '']
          : spread(roundRatios(results, contender.name, baseline.name, cell), 2)
      rows.push([
        cell.flow,
        String(cell.inFlight),
        contender.name,
        ...spread(rates),
        fmt(median(runs.map((r) => r.loopP99Ms)), 1),
        ...ratio,
      ])
    }
  }
  return table(
    'lrlrrrrrrr',
    [
      'flow',
      'in flight',
      'contender',
      'min/s',
      'median/s',
      'max/s',
      'loop p99 ms',
      '÷BA min',
      'median',
      'max',
    ],
    rows,
  )
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-bench-logins-'))
  const contenders: Contender[] = []
  try {
    const baseline = await betterAuthContender({
      name: `Better Auth ${betterAuthVersion()}`,
      filename: join(dir, 'better-auth.db'),
    })
    contenders.push(baseline)
    for (const mode of synchronousModes())
      contenders.push(
        await flexSecureContender({
          name: `FlexSecure ${mode.toUpperCase()}`,
          filename: join(dir, `flexsecure-${mode}.db`),
          synchronous: mode,
          users: USERS,
        }),
      )
    // Issue 16's starting point in the same run: one commit per transaction, argon2id PINs, at FULL.
    if (process.env.BENCH_BEFORE !== '0')
      contenders.push(
        await flexSecureContender({
          name: 'before: FULL',
          filename: join(dir, 'flexsecure-before.db'),
          synchronous: 'full',
          users: USERS,
          variant: { groupCommit: false, pinHashing: 'argon2id', durableCommits: 'in-commit' },
        }),
      )
    // The steps of the executor's durability, each in the same run: SQLite's FULL inside COMMIT (group
    // commit alone), the WAL synced off the event loop before every answer, then deferred writes
    // answered at COMMIT but each batch of them synced at once (before their sync could wait for the next),
    // and every sync on libuv's pool (before syncs ran on the event loop while logins come one at a time).
    if (process.env.BENCH_STEPS === '1')
      for (const [name, variant] of [
        ['FULL in COMMIT', { durableCommits: 'in-commit' }],
        ['FULL off-thread', { deferredSync: false }],
        ['deferred, sync at once', { deferredSyncDelayMs: 0 }],
        ['every sync on the pool', { inlineSyncs: false }],
      ] as const)
        contenders.push(
          await flexSecureContender({
            name,
            filename: join(dir, `flexsecure-${name.replaceAll(' ', '-')}.db`),
            synchronous: 'full',
            users: USERS,
            variant,
          }),
        )
    for (const mode of ['normal', 'full'] as const)
      contenders.push(
        floorContender(`floor ${mode.toUpperCase()}`, new BetterSqlite3(join(dir, `floor-${mode}.db`)), mode),
      )

    const sqlite = baseline.database.prepare('SELECT sqlite_version()').pluck().get() as string
    const settings = contenders.map((c) => {
      const journal = c.database.pragma('journal_mode', { simple: true }) as string
      const durability = c.durability ? ` (${c.durability})` : ''
      return `${c.name}: journal_mode=${journal}, synchronous=${synchronousOf(c.database)}${durability}`
    })
    console.log(
      [
        'FlexSecure vs Better Auth: whole logins per second, in process, each on its own SQLite file',
        `  node ${process.version}, SQLite ${sqlite}, ${machineLine()} (before)`,
        `  ${threadsLine()}`,
        ...settings.map((s) => `  ${s}`),
        `  ${fmt(USERS)} users round-robin; ${ROUNDS} interleaved rounds, ${SECONDS} s per contender and cell,`,
        '  contenders in rotating order within each cell; the floor is synchronous, so it runs at 1 in flight',
        '',
      ].join('\n'),
    )

    // Better Auth's users come into being on their first link login, so every side logs in every user once.
    process.stderr.write('warming up...\n')
    for (const contender of contenders)
      await warmUp(contender, USERS, { link: contender.maxInFlight === 1 ? 2000 : USERS, pin: PIN_WARMUP })

    const { results, loads } = await measureRounds(contenders, CELLS, SETTINGS)

    console.log(report(results, contenders, baseline))
    console.log(
      [
        '',
        "  logins/s: min, median and max over the rounds, counted inside each run's timed window (README.md)",
        "  loop p99 ms: the event loop's 99th percentile delay during the run, median over the rounds",
        `  ÷BA: each round's rate over Better Auth's in the same round and cell; min, median, max over rounds`,
        loadLine(loads),
      ].join('\n'),
    )
  } finally {
    for (const contender of contenders) await contender.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * `BENCH_ISOLATE=1`: Better Auth and FlexSecure FULL, each in a process of its own (`isolated-run.ts`), on a
 * fresh file every round, the order alternating; the same cells and table. No floor: it has no heap to share.
 */
async function isolatedMain(): Promise<void> {
  const entrants: { kind: IsolatedKind; entrant: Entrant }[] = [
    { kind: 'better-auth', entrant: { name: `Better Auth ${betterAuthVersion()}`, flows: ['link', 'pin'] } },
    { kind: 'flexsecure', entrant: { name: 'FlexSecure FULL', flows: ['link', 'pin'] } },
  ]
  console.log(
    [
      'FlexSecure vs Better Auth, each in a process of its own (BENCH_ISOLATE=1): whole logins per second',
      `  node ${process.version}, ${machineLine()} (before)`,
      `  ${fmt(USERS)} users round-robin; ${ROUNDS} rounds, each contender in a new process on a new file every`,
      `  round (the same warm-up as the shared run), ${SECONDS} s per cell; the order alternates from round to round`,
      '',
    ].join('\n'),
  )
  const results: Results = new Map()
  const loads: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? entrants : [...entrants].reverse()
    for (const { kind, entrant } of order) {
      const request: IsolatedRequest = {
        kind,
        name: entrant.name,
        cells: CELLS,
        users: USERS,
        seconds: SECONDS,
        pinWarmUp: PIN_WARMUP,
      }
      const output = execFileSync(
        process.execPath,
        [
          '-r',
          '../packages/server/bin/thread-pool.js',
          '--import',
          'tsx',
          'isolated-run.ts',
          JSON.stringify(request),
        ],
        { cwd: import.meta.dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
      )
      const runs = JSON.parse(output.trim().split('\n').pop() ?? '[]') as IsolatedAnswer
      CELLS.forEach((cell, i) => {
        const key = resultKey(entrant.name, cell)
        results.set(key, [...(results.get(key) ?? []), runs[i] as IsolatedAnswer[number]])
      })
    }
    loads.push(loadavg()[0] as number)
    process.stderr.write(`round ${round + 1}/${ROUNDS} done, load average ${loadNow()}\n`)
  }
  const [baseline] = entrants
  console.log(
    report(
      results,
      entrants.map((e) => e.entrant),
      baseline?.entrant as Entrant,
    ),
  )
  console.log(
    ['', "  ÷BA: each round's rate over Better Auth's in the same round and cell", loadLine(loads)].join(
      '\n',
    ),
  )
}

await (process.env.BENCH_ISOLATE === '1' ? isolatedMain() : main()).catch((error: unknown) => {
  console.error('\nFAIL:', error)
  process.exitCode = 1
})
