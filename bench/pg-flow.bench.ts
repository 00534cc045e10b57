// The in-process passwordless flow (start, confirm, check) on PostgreSQL, with 1 and with 4 processes, as a
// ratio to a floor measured in the same run: raw pg doing the four statements of the SQLite floor.
// Run it with `pnpm bench:pg` in this package (or `pnpm bench:all`, which runs every bench).
// See README.md for how to read the output.
//
// It creates a database of its own on the server at FLEXSECURE_BENCH_PG_URL and drops it at the end, even on
// failure. Without a reachable server it prints one line and exits 0. The multi-process runs fork this file
// (role `engine` or `floor`): each child logs in its own users, one login at a time.

import { randomBytes } from 'node:crypto'
import { availableParallelism, cpus } from 'node:os'
import { createEngine } from '@flexsecure/core'
import { captureNotifier } from '@flexsecure/core/testing'
import { postgresStorage } from '@flexsecure/postgres'
import pg from 'pg'
import { fmt, median, table } from './bench-report.js'
import {
  engineBench,
  expectDisconnects,
  FLOOR_SCHEMA,
  idleError,
  openFloor,
  openPool,
  type Runner,
  runFor,
  type StepTimes,
  seedAccount,
  usersOf,
} from './pg-contenders.js'
import { countEngine, countFloor, printCounts, printLocks, type Step } from './pg-counting.js'
import {
  MONITOR,
  measure,
  printActivity,
  type Run,
  sampleActivity,
  serverIsLocal,
  serverPids,
} from './pg-monitor.js'
import { type Child, child, runChild, spawnChild, stopChild } from './pg-processes.js'
import {
  BASE_URL,
  BATCHING,
  ENGINE_WARMUP,
  FLOOR_WARMUP,
  IN_FLIGHT,
  POOL,
  PROCESSES,
  ROUNDS,
  SECONDS,
  SECRET,
  SERVER_URL,
  SPLIT_ACCOUNTS,
  TARGET,
  USERS,
} from './pg-settings.js'

/** Drops the bench database; safe to call twice. */
function dropper(name: string): () => Promise<void> {
  let dropped: Promise<void> | undefined
  return () => {
    dropped ??= (async () => {
      expectDisconnects()
      const client = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 5000 })
      await client.connect()
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await client.end()
      }
    })()
    return dropped
  }
}

async function main(): Promise<void> {
  // Reachable? Without a server, say so loudly and leave, so `pnpm bench` still works on a machine without it.
  const server = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3000 })
  try {
    await server.connect()
  } catch (error) {
    console.warn(
      `\n!!! SKIPPING the PostgreSQL flow bench: PostgreSQL is unreachable at ${SERVER_URL} (${(error as Error).message}). Point FLEXSECURE_BENCH_PG_URL at a server (a role that may CREATE DATABASE) to run it.\n`,
    )
    await server.end().catch(() => {})
    return
  }
  const name = `flexsecure_bench_${randomBytes(6).toString('hex')}`
  const urlObject = new URL(SERVER_URL)
  urlObject.pathname = `/${name}`
  const url = urlObject.href
  const drop = dropper(name)
  const children: Child[] = []
  let admin: pg.Client | undefined
  let sampler: pg.Client | undefined
  let setupPool: pg.Pool | undefined
  let seeder: ReturnType<typeof engineBench> | undefined
  let floor: Runner | undefined
  // Interrupted (Ctrl-C): stop the children and drop the database before leaving.
  const interrupted = (signal: NodeJS.Signals) => {
    console.error(`\n[bench] ${signal}: dropping ${name}`)
    void Promise.allSettled(children.map(stopChild))
      .then(() => drop())
      .finally(() => process.exit(130))
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  try {
    try {
      await server.query(`CREATE DATABASE ${name}`)
    } finally {
      await server.end()
    }
    admin = new pg.Client({ connectionString: url, application_name: MONITOR })
    admin.on('error', idleError)
    await admin.connect()
    // The sampler has a connection of its own, so it never queues behind (or delays) the CPU measurements.
    sampler = new pg.Client({ connectionString: url, application_name: MONITOR })
    sampler.on('error', idleError)
    await sampler.connect()
    await admin.query(FLOOR_SCHEMA)
    const show = async (key: string) =>
      (await (admin as pg.Client).query<{ value: string }>(`SELECT current_setting('${key}') AS value`))
        .rows[0]?.value
    const serverVersion = await show('server_version')
    const durability = ['synchronous_commit', 'fsync', 'wal_sync_method', 'commit_delay']
    const durabilityValues: (string | undefined)[] = []
    for (const key of durability) durabilityValues.push(await show(key))

    // An engine that migrates and seeds (untimed); then this process's own runs the 1-process logins.
    const allUsers = usersOf(0, 1)
    setupPool = openPool(url)
    const setup = createEngine({
      storage: postgresStorage({ pool: setupPool }),
      notifier: captureNotifier(),
      secret: SECRET,
      links: { baseUrl: BASE_URL },
    })
    await setup.migrate()
    const accountId = await seedAccount(setup, 'Bench', allUsers)
    seeder = engineBench(openPool(url), accountId, allUsers)
    const childAccounts: string[] = []
    for (let index = 0; index < PROCESSES; index++)
      childAccounts.push(
        SPLIT_ACCOUNTS ? await seedAccount(setup, `Bench ${index}`, usersOf(index, PROCESSES)) : accountId,
      )
    floor = openFloor(url)

    // The children warm up together (their users are disjoint), before this process warms up on all users.
    for (const role of ['engine', 'floor'] as const)
      children.push(
        ...(await Promise.all(
          Array.from({ length: PROCESSES }, (_, index) =>
            spawnChild(role, url, childAccounts[index] as string, index),
          ),
        )),
      )
    const engineChildren = children.filter((c) => c.role === 'engine')
    const floorChildren = children.filter((c) => c.role === 'floor')

    let n = 0
    for (let i = 0; i < FLOOR_WARMUP; i++) await floor.login(i)
    for (let i = 0; i < Math.max(allUsers.length, ENGINE_WARMUP); i++) await seeder.login(n++)

    const cores = availableParallelism()
    const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU'
    const local = serverIsLocal(SERVER_URL)
    const perProcess = Math.ceil(USERS / PROCESSES)
    console.log(
      [
        'FlexSecure bench: the in-process passwordless flow (start, confirm, check) on PostgreSQL',
        `  node ${process.version}, PostgreSQL ${serverVersion} at ${urlObject.host}, ${cores} cores (${cpu})`,
        `  ${durability.map((key, i) => `${key}=${durabilityValues[i]}`).join(', ')}`,
        `  database ${name}, created for this run and dropped at the end`,
        '  floor:  raw pg, 4 autocommit named (prepared) statements per login: insert a challenge with a',
        '          SHA-256 token hash, select it by hash, update it where pending, insert an audit row',
        `  engine: createEngine + postgresStorage + captureNotifier, ${fmt(USERS)} users of one account`,
        "          round-robin, so every start supersedes the same user's earlier (finished) challenge",
        `  1 process: logins in this process; ${PROCESSES} processes: ${PROCESSES} forked processes started`,
        `          together, each logging in its own ${fmt(perProcess)} users; every process has a`,
        `          pool of ${POOL} connections, on both sides; ${IN_FLIGHT} login${IN_FLIGHT === 1 ? '' : 's'} in flight per process (BENCH_PG_IN_FLIGHT)`,
        ...(BATCHING
          ? []
          : [
              '  BENCH_PG_BATCHING=0: the engine without batching (one row per statement, outcomes one by one)',
            ]),
        ...(SPLIT_ACCOUNTS
          ? [
              '  BENCH_PG_SPLIT_ACCOUNTS=1: each engine process logs in users of an account of its own (a diagnostic)',
            ]
          : []),
        `  ${ROUNDS} rounds after a warm-up, ${SECONDS} s per run, alternating which side goes first`,
        local
          ? `  the server runs on this machine: it shares these ${cores} cores with the bench processes`
          : '  the server is not on this machine (or /proc is missing): its CPU is not measured',
        '',
      ].join('\n'),
    )

    const ms = SECONDS * 1000
    const pids = local ? () => serverPids(admin as pg.Client) : null
    const one = async (runner: Runner) =>
      measure(pids, async () => {
        const before = process.cpuUsage()
        const run = await runFor(runner, ms, () => n++)
        const cpu = process.cpuUsage(before)
        return [{ ...run, cpu: cpu.user + cpu.system }]
      })
    const many = async (group: Child[]) => {
      let done = () => {}
      const finished = new Promise<void>((resolve) => {
        done = resolve
      })
      return measure(
        pids,
        async () => {
          const startAt = Date.now() + 100
          try {
            return await Promise.all(group.map((c) => runChild(c, startAt, ms)))
          } finally {
            done()
          }
        },
        () => sampleActivity(sampler as pg.Client, finished),
      )
    }

    const runs = { floor1: [] as Run[], engine1: [] as Run[], floorN: [] as Run[], engineN: [] as Run[] }
    const stepTimes: StepTimes[] = []
    const ratios1: number[] = []
    const ratiosN: number[] = []
    const rows: string[][] = []
    for (let round = 0; round < ROUNDS; round++) {
      const times: StepTimes = { start: 0, confirm: 0, check: 0 }
      const floorFirst = round % 2 === 0
      for (const side of floorFirst ? ['floor', 'engine'] : ['engine', 'floor']) {
        if (side === 'floor') runs.floor1.push(await one(floor))
        else {
          seeder.times = times
          runs.engine1.push(await one(seeder))
          seeder.times = null
        }
      }
      for (const side of floorFirst ? ['floor', 'engine'] : ['engine', 'floor']) {
        if (side === 'floor') runs.floorN.push(await many(floorChildren))
        else runs.engineN.push(await many(engineChildren))
      }
      const f1 = (runs.floor1[round] as Run).rate
      const e1 = (runs.engine1[round] as Run).rate
      const fN = (runs.floorN[round] as Run).rate
      const eN = (runs.engineN[round] as Run).rate
      const logins = (runs.engine1[round] as Run).logins
      stepTimes.push({
        start: times.start / logins,
        confirm: times.confirm / logins,
        check: times.check / logins,
      })
      ratios1.push(e1 / f1)
      ratiosN.push(eN / fN)
      rows.push([
        String(round + 1),
        floorFirst ? 'floor' : 'engine',
        fmt(f1),
        fmt(e1),
        fmt(e1 / f1, 3),
        fmt(fN),
        fmt(eN),
        fmt(eN / fN, 3),
      ])
    }
    await Promise.all(children.map(stopChild))

    const mid = (list: Run[], value: (run: Run) => number) => median(list.map(value))
    const ratio1 = median(ratios1)
    const ratioN = median(ratiosN)
    rows.push([
      'median',
      '',
      fmt(mid(runs.floor1, (r) => r.rate)),
      fmt(mid(runs.engine1, (r) => r.rate)),
      fmt(ratio1, 3),
      fmt(mid(runs.floorN, (r) => r.rate)),
      fmt(mid(runs.engineN, (r) => r.rate)),
      fmt(ratioN, 3),
    ])
    const p = PROCESSES
    console.log(
      table(
        'llrrrrrr',
        [
          'round',
          'first',
          'floor 1p',
          'engine 1p',
          'engine/floor',
          `floor ${p}p`,
          `engine ${p}p`,
          'engine/floor',
        ],
        rows,
      ),
    )
    console.log(`  logins/s; ${p}p: the sum over the ${p} processes of each one's logins/s`)
    console.log()

    const percent = (share: number) => `${fmt(share * 100)}%`
    const micro = (value: number) => (Number.isNaN(value) ? '-' : fmt(value))
    console.log('per run, median over rounds: CPU time per login in µs; machine busy as a share of all cores')
    console.log(
      table(
        'lrrrrrrrr',
        [
          '',
          'processes',
          'logins/s',
          'ms/login',
          'node CPU',
          'postgres CPU',
          'CPU/login',
          'machine busy',
          'other load',
        ],
        (
          [
            ['floor', 1, runs.floor1],
            ['engine', 1, runs.engine1],
            ['floor', p, runs.floorN],
            ['engine', p, runs.engineN],
          ] as const
        ).map(([side, processes, list]) => [
          side,
          String(processes),
          fmt(mid(list, (r) => r.rate)),
          fmt(
            mid(list, (r) => r.latency),
            2,
          ),
          micro(mid(list, (r) => r.benchCpu)),
          micro(mid(list, (r) => r.serverCpu)),
          micro(mid(list, (r) => r.benchCpu + r.serverCpu)),
          percent(mid(list, (r) => r.busy)),
          Number.isNaN(list[0]?.other ?? Number.NaN) ? '-' : percent(mid(list, (r) => r.other)),
        ]),
      ),
    )
    console.log(
      [
        '  ms/login: one login in one process, start to end; node CPU: the bench process(es); postgres CPU: the',
        "  bench database's backends and the server's WAL writer, checkpointer and background writer; machine",
        `  busy: all of the ${cores} cores, whoever used them; other load: the part of it that was neither (another`,
        '  program, or the sampler); machine busy near 100% means the cores were the limit. With 1 process, ms/login',
        '  near CPU/login means a login is a chain of round trips, node and postgres working in turn.',
        '',
      ].join('\n'),
    )

    const perLogin = (step: Step) => median(stepTimes.map((t) => t[step] * 1000))
    console.log('time per engine login, µs (1 process, median over rounds)')
    console.log(
      table(
        'lrrrr',
        ['', 'start', 'confirm', 'check', 'whole login'],
        [
          [
            'engine',
            fmt(perLogin('start')),
            fmt(perLogin('confirm')),
            fmt(perLogin('check')),
            fmt(1e6 / mid(runs.engine1, (r) => r.rate)),
          ],
          ['floor', '', '', '', fmt(1e6 / mid(runs.floor1, (r) => r.rate))],
        ],
      ),
    )
    console.log()

    printActivity({ floor: runs.floorN, engine: runs.engineN }, p)

    await seeder.close()
    seeder = undefined
    await floor.close()
    floor = undefined

    // Counted after the timed rounds, on an account of its own: the wrapped pool never touches the timed runs.
    const counted = await countEngine(url, admin, setup)
    await setup.close()
    await setupPool.end()
    setupPool = undefined
    const floorWal = await countFloor(url, admin)
    printCounts(
      counted,
      floorWal,
      mid(runs.floor1, (r) => r.rate),
    )
    printLocks(
      counted,
      mid(runs.engineN, (r) => r.rate),
      p,
    )

    console.log(`ratio engine/floor (1 process): ${ratio1.toFixed(2)} (target >= ${TARGET})`)
    console.log(
      `ratio engine/floor (${p} processes): ${ratioN.toFixed(2)} (contention on ${cores} shared cores; see README)`,
    )
  } finally {
    await Promise.allSettled(children.map(stopChild))
    await seeder?.close().catch(() => {})
    await floor?.close().catch(() => {})
    await admin?.end().catch(() => {})
    await sampler?.end().catch(() => {})
    await setupPool?.end().catch(() => {})
    await drop()
    process.off('SIGINT', interrupted)
    process.off('SIGTERM', interrupted)
  }
}

const [role, ...args] = process.argv.slice(2)
if (role === 'engine' || role === 'floor')
  await child(role, args[0] as string, args[1] as string, Number(args[2]), Number(args[3]))
else
  await main().catch((error: unknown) => {
    console.error('\nFAIL:', error)
    process.exitCode = 1
  })
