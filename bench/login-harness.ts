// The harness the login benchmarks share: what a contender is, how one timed run drives it with N logins
// in flight, and how rounds interleave the contenders so that a busy machine slows them alike.

import { createRequire } from 'node:module'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import type BetterSqlite3 from 'better-sqlite3'
import { setting } from './bench-settings.js'

/** A link login (start, follow the link, check) or a PIN login (start, check with the PIN). */
export type Flow = 'link' | 'pin'

/** Runs one step of a login; the counting pass passes one that attributes statements to the step. */
export type StepRunner = <T>(step: string, work: () => Promise<T>) => Promise<T>

/** Runs the step as it is. */
export const runStep: StepRunner = (_step, work) => work()

/** One side of a comparison: something that can run whole logins for users numbered 0..users-1. */
export interface Contender {
  /** As printed in the tables. */
  readonly name: string
  readonly flows: readonly Flow[]
  /** Logins it can usefully run at once; the raw floor is synchronous, so 1. Unlimited when absent. */
  readonly maxInFlight?: number
  /** Its connection, for pragmas, sizes and the counting pass. */
  readonly database: BetterSqlite3.Database
  /** How its commits reach the disk, when the connection's `synchronous` does not say it all. */
  readonly durability?: string
  /** One whole login for user `user`; throws unless the login ends signed in. */
  login(flow: Flow, user: number, step?: StepRunner): Promise<void>
  close(): Promise<void>
}

/** What the table reports for one flow at one number of logins in flight. */
export interface Cell {
  readonly flow: Flow
  readonly inFlight: number
}

/** One timed run of one contender on one cell. */
export interface CellRun {
  /** Logins completed per second inside the timed window. */
  readonly rate: number
  readonly logins: number
  /** The event loop's 99th percentile delay during the window, ms (`monitorEventLoopDelay`). */
  readonly loopP99Ms: number
}

/**
 * Runs `inFlight` workers, each logging in its own users one after another (worker w takes the users
 * whose number is w modulo `inFlight`, so no two logins in flight share a user). Each login starts in a
 * macrotask of its own, as a request would in a server, so the event loop turns between logins.
 *
 * Only logins completed inside the timed window count. It opens once every worker has finished one
 * login (the pipeline is full), and closes at the first completion after `seconds` once at least
 * `inFlight` logins were counted, so a slow cell still spans a whole wave of logins. Logins still
 * running then finish untimed.
 */
export async function runCell(
  contender: Contender,
  cell: Cell,
  users: number,
  seconds: number,
): Promise<CellRun> {
  const { flow, inFlight } = cell
  if (users < inFlight) throw new Error(`runCell: ${users} users cannot fill ${inFlight} logins in flight`)
  const delay = monitorEventLoopDelay({ resolution: 1 })
  let opened = Number.POSITIVE_INFINITY
  let last = Number.NaN
  let warm = 0
  let counted = 0
  let closed = false
  let failed = false
  const worker = async (w: number) => {
    const own = Array.from({ length: Math.ceil((users - w) / inFlight) }, (_, k) => w + k * inFlight)
    try {
      for (let k = 0; !closed && !failed; k++) {
        await new Promise<void>((resolve) => setImmediate(resolve))
        await contender.login(flow, own[k % own.length] as number)
        const now = performance.now()
        if (closed) return
        if (now >= opened) {
          counted++
          last = now
          if (now - opened >= seconds * 1000 && counted >= inFlight) closed = true
        } else if (k === 0 && ++warm === inFlight) {
          opened = now
          delay.enable()
        }
      }
    } catch (error) {
      // The other workers stop at their next login instead of running on behind the failure.
      failed = true
      throw error
    }
  }
  const settled = await Promise.allSettled(Array.from({ length: inFlight }, (_, w) => worker(w)))
  delay.disable()
  const failure = settled.find((s) => s.status === 'rejected')
  if (failure) throw failure.reason
  return {
    rate: counted / ((last - opened) / 1000),
    logins: counted,
    loopP99Ms: delay.count > 0 ? delay.percentile(99) / 1e6 : Number.NaN,
  }
}

/** How long and how wide the timed runs are, from `BENCH_*` (README.md, Settings). */
export interface RunSettings {
  readonly rounds: number
  readonly seconds: number
  readonly users: number
  /** The larger number of logins in flight (the smaller is 1). */
  readonly inFlight: number
}

/** The run settings from the environment, with this bench's default number of rounds. */
export function runSettings(defaultRounds: number): RunSettings {
  return {
    rounds: setting('BENCH_ROUNDS', defaultRounds),
    seconds: setting('BENCH_SECONDS', 2),
    users: setting('BENCH_USERS', 1000),
    inFlight: setting('BENCH_IN_FLIGHT', 64),
  }
}

/** Timed runs of every contender on every cell, round after round, keyed by `resultKey`. */
export type Results = Map<string, CellRun[]>

/** Where `Results` keeps the runs of one contender on one cell. */
export const resultKey = (contender: string, cell: Cell) => `${contender}|${cell.flow}|${cell.inFlight}`

/** Whether `contender` takes part in `cell`. */
export const runsIn = (contender: Pick<Contender, 'flows' | 'maxInFlight'>, cell: Cell) =>
  contender.flows.includes(cell.flow) && cell.inFlight <= (contender.maxInFlight ?? Number.POSITIVE_INFINITY)

/** Per round, `a`'s rate over `b`'s: both ran in the same round and cell, one right after the other. */
export function roundRatios(results: Results, a: string, b: string, cell: Cell): number[] {
  const as = results.get(resultKey(a, cell)) ?? []
  const bs = results.get(resultKey(b, cell)) ?? []
  return as.map((run, round) => run.rate / (bs[round]?.rate ?? Number.NaN))
}

/** The runs of every round, and the 1-minute load average after each round. */
export interface Rounds {
  readonly results: Results
  readonly loads: readonly number[]
}

/**
 * Interleaved rounds: in each round every cell runs every contender once, one after the other, and the
 * order of the contenders rotates from round to round (A B C, then B C A, ...), so drift on the machine
 * and the growth of each database fall on all of them alike. Progress goes to stderr.
 */
export async function measureRounds(
  contenders: readonly Contender[],
  cells: readonly Cell[],
  settings: RunSettings,
): Promise<Rounds> {
  const results: Results = new Map()
  const loads: number[] = []
  for (let round = 0; round < settings.rounds; round++) {
    for (const cell of cells) {
      const taking = contenders.filter((c) => runsIn(c, cell))
      const order = taking.map((_, i) => taking[(i + round) % taking.length] as Contender)
      for (const contender of order) {
        const run = await runCell(contender, cell, settings.users, settings.seconds)
        const key = resultKey(contender.name, cell)
        results.set(key, [...(results.get(key) ?? []), run])
      }
    }
    loads.push(loadavg()[0] as number)
    process.stderr.write(`round ${round + 1}/${settings.rounds} done, load average ${loadNow()}\n`)
  }
  return { results, loads }
}

/** The line under a table that says how busy the machine was while it was measured. */
export function loadLine(loads: readonly number[]): string {
  return `  load average (1 min) after each round: ${loads.map((l) => l.toFixed(2)).join(', ')}; now ${loadNow()}`
}

/** `logins` logins per user and flow, untimed: JIT-compiles both paths and gives every user a history. */
export async function warmUp(
  contender: Contender,
  users: number,
  logins: Record<Flow, number>,
): Promise<void> {
  for (const flow of contender.flows)
    for (let n = 0; n < logins[flow]; n++) await contender.login(flow, n % users)
}

/**
 * Whether this process loaded `bin/thread-pool.js` (every bench script does, as the server does) and it
 * turned V8's parallel scavenges off (two cores or fewer).
 */
function scavengesAlone(): boolean {
  const require = createRequire(import.meta.url)
  const path = require.resolve('../packages/server/bin/thread-pool.js')
  if (!require.cache[path]) return false
  const { scavengeAlone } = require(path) as { scavengeAlone: (cores: number, execArgv: string[]) => boolean }
  return scavengeAlone(availableParallelism(), process.execArgv)
}

/** This process's helper threads as the output prints them: libuv's pool, and where V8 scavenges. */
export function threadsLine(): string {
  const scavenges = scavengesAlone() ? 'on the main thread alone' : 'shared with helper threads'
  return `libuv pool ${process.env.UV_THREADPOOL_SIZE ?? 'default'} threads, V8's scavenges ${scavenges} (bin/thread-pool.js)`
}

/** The machine as the output prints it: cores, CPU model, and the 1-minute load average now. */
export function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU'
  return `${availableParallelism()} cores (${cpu}), load average ${loadNow()}`
}

/** The 1, 5 and 15-minute load averages, as `uptime` prints them. */
export function loadNow(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
}

/** SQLite's `synchronous` on a connection, by name. */
export function synchronousOf(database: BetterSqlite3.Database): string {
  const level = database.pragma('synchronous', { simple: true }) as number
  return ['OFF', 'NORMAL', 'FULL', 'EXTRA'][level] ?? String(level)
}
