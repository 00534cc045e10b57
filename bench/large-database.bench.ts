// FlexSecure's login throughput on a database with 1,000,000 past logins against one with 1,000, in
// interleaved rounds, and the bytes on disk each login leaves behind. The databases are built once
// (past-logins.ts) into bench/.cache and copied for each run. Run it with `pnpm bench:large` in bench/.

import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fmt, spread, table } from './bench-report.js'
import { setting, synchronousModes } from './bench-settings.js'
import { flexSecureContender } from './flexsecure-contender.js'
import {
  type Cell,
  type Contender,
  loadLine,
  machineLine,
  measureRounds,
  type Results,
  resultKey,
  roundRatios,
  runSettings,
  synchronousOf,
  warmUp,
} from './login-harness.js'
import { type PastLoginsInfo, pastLoginsDatabase } from './past-logins.js'

const SETTINGS = runSettings(5)
const { rounds: ROUNDS, seconds: SECONDS, users: USERS } = SETTINGS
const SMALL = setting('BENCH_PAST_SMALL', 1000)
const LARGE = setting('BENCH_PAST_LARGE', 1_000_000)

const CELLS: readonly Cell[] = [
  { flow: 'link', inFlight: 1 },
  { flow: 'link', inFlight: SETTINGS.inFlight },
  { flow: 'pin', inFlight: SETTINGS.inFlight },
]

function report(results: Results, small: Contender, large: Contender): string {
  const rows = CELLS.map((cell) => {
    const smallRuns = results.get(resultKey(small.name, cell)) ?? []
    const largeRuns = results.get(resultKey(large.name, cell)) ?? []
    const ratios = roundRatios(results, large.name, small.name, cell)
    return [
      cell.flow,
      String(cell.inFlight),
      ...spread(smallRuns.map((r) => r.rate)),
      ...spread(largeRuns.map((r) => r.rate)),
      ...spread(ratios, 2),
    ]
  })
  return table(
    'lrrrrrrrrrr',
    [
      'flow',
      'in flight',
      `${small.name} min/s`,
      'median',
      'max',
      `${large.name} min/s`,
      'median',
      'max',
      'large÷small min',
      'median',
      'max',
    ],
    rows,
  )
}

/** Bytes on disk per login: what the extra logins of the large file added, in all and by table. */
function bytesReport(small: PastLoginsInfo, large: PastLoginsInfo): string {
  const logins = large.logins - small.logins
  const perLogin = (l: number, s: number) => (l - s) / logins
  const tables = Object.entries(large.tables)
    .map(([name, bytes]) => [name, perLogin(bytes, small.tables[name] ?? 0)] as const)
    .filter(([, bytes]) => bytes >= 1)
    .sort((a, b) => b[1] - a[1])
  return [
    `bytes on disk per login: ${fmt(perLogin(large.bytes, small.bytes))} (the ${fmt(large.logins)}-login file is ` +
      `${fmt(large.bytes / 2 ** 20)} MiB, the ${fmt(small.logins)}-login one ${fmt(small.bytes / 2 ** 20, 1)} MiB); by table and index:`,
    table(
      'lr',
      ['', 'bytes per login'],
      tables.map(([name, bytes]) => [name, fmt(bytes)]),
    ),
  ].join('\n')
}

async function main(): Promise<void> {
  const mode = synchronousModes()[0] ?? 'normal'
  const built = [await pastLoginsDatabase(SMALL, USERS), await pastLoginsDatabase(LARGE, USERS)]
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-bench-large-'))
  const contenders: Contender[] = []
  try {
    for (const { path, info } of built) {
      const working = join(dir, `${info.logins}.db`)
      // The cached file stays as built: each run logs in on a copy.
      copyFileSync(path, working)
      contenders.push(
        await flexSecureContender({
          name: `${fmt(info.logins)} past`,
          filename: working,
          synchronous: mode,
          users: USERS,
        }),
      )
    }
    const [small, large] = contenders as [Contender, Contender]
    const [smallInfo, largeInfo] = built.map((b) => b.info) as [PastLoginsInfo, PastLoginsInfo]
    console.log(
      [
        'FlexSecure on a large database: logins per second with past logins in the file, in process',
        `  node ${process.version}, ${machineLine()} (before)`,
        // The mode asked for, then the connection's own pragma: at FULL off the event loop the connection runs
        // at NORMAL and the executor syncs the WAL (the durability line says how).
        `  FlexSecure ${mode.toUpperCase()} (the first of BENCH_SYNCHRONOUS): synchronous=${synchronousOf(small.database)} on the connection, ${small.durability ?? ''}; ${fmt(USERS)} users`,
        `  past logins: challenges, deliveries and audit events copied from ${fmt(1000)} real engine logins`,
        `  (every tenth a PIN login), spread over the 30 days before the build; built ${largeInfo.builtAt}`,
        `  ${ROUNDS} interleaved rounds, ${SECONDS} s per database and cell`,
        '',
      ].join('\n'),
    )
    process.stderr.write('warming up...\n')
    for (const contender of contenders)
      await warmUp(contender, USERS, { link: USERS, pin: SETTINGS.inFlight })
    const { results, loads } = await measureRounds(contenders, CELLS, SETTINGS)
    console.log(report(results, small, large))
    console.log(loadLine(loads))
    console.log()
    console.log(bytesReport(smallInfo, largeInfo))
  } finally {
    for (const contender of contenders) await contender.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main().catch((error: unknown) => {
  console.error('\nFAIL:', error)
  process.exitCode = 1
})
