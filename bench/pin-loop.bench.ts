// The server's event loop under PIN-heavy load (issue 16: its p99 delay under 5 ms). The real server
// (startServer, as `flexsecure serve` runs it, libuv's pool sized by bin/thread-pool.js) runs in a child
// process that records `perf_hooks.monitorEventLoopDelay`; this process drives PIN logins at it over HTTP,
// N in flight (saturating it), or started at a fixed rate below saturation (paced): `POST /v1/start`, then
// `POST /v1/check` with the one-time PIN from the message (an HMAC, S8), and on the second system the
// user's memorized PIN after it (argon2id on libuv's pool). An idle run (no load) in every round shows what
// the machine alone does to the loop. Run it with `pnpm bench:loop`.
// See README.md, "The event loop under PIN logins".

import { type ChildProcess, execFileSync, fork } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseSecret } from '@flexsecure/core/testing'
import { startServer } from '@flexsecure/server'
import { sqliteStorage } from '@flexsecure/sqlite'
import { fmt, median, table } from './bench-report.js'
import { benchServerConfig, LIFTED_SEND_LIMITS, setting } from './bench-settings.js'
import { threadsLine } from './login-harness.js'

const ROUNDS = setting('BENCH_LOOP_ROUNDS', 3)
const SECONDS = setting('BENCH_LOOP_SECONDS', 5)
const IN_FLIGHT = setting('BENCH_LOOP_IN_FLIGHT', 32)
/** The paced cell's offered load, one-time PIN logins per second, started on a clock, not on answers. */
const PACED_RATE = setting('BENCH_LOOP_RATE', 400)
const USERS = setting('BENCH_LOOP_USERS', 256)
const TARGET_MS = 5
/** A directory: the server process runs with `node --cpu-prof`, writing its profile there. */
const CPU_PROF = process.env.BENCH_LOOP_CPU_PROF || null
/** The server's SQLite `synchronous`: `full`, its default (S37), or `normal`, a diagnostic. */
const SYNCHRONOUS = process.env.BENCH_LOOP_SYNCHRONOUS === 'normal' ? 'normal' : 'full'
/** `BENCH_LOOP_INLINE_SYNCS=0`: every sync of the WAL on libuv's pool, none on the event loop (a diagnostic). */
const INLINE_SYNCS = process.env.BENCH_LOOP_INLINE_SYNCS !== '0'
/** The server's turn budget (ms, `Infinity` for none): its default unless set. */
const TURN_BUDGET_MS = process.env.BENCH_LOOP_TURN_BUDGET_MS
  ? Number(process.env.BENCH_LOOP_TURN_BUDGET_MS)
  : undefined
const MEMORIZED_PIN = '582914'
/**
 * `BENCH_LOOP_GENERATOR=idle`: this process (the load generator) runs under Linux's `SCHED_IDLE` once the
 * server is up, so that it takes a core only when no other thread wants it and never preempts the
 * server's. On a machine with few cores the generator otherwise competes with the server for them (about
 * two thirds of a core at saturation here), which the server's loop delay then includes.
 */
const GENERATOR_IDLE = process.env.BENCH_LOOP_GENERATOR === 'idle'

/**
 * The cells of a round: no load; one-time PIN logins, IN_FLIGHT at a time (the server saturated: each
 * answer starts the next login); the same at a fixed rate below saturation (PACED_RATE a second,
 * whatever the answers do); and one-time PIN logins with a memorized PIN after.
 */
const ALL_CELLS = ['idle', 'one-time PIN', 'one-time PIN, paced', 'with memorized PIN'] as const
type Cell = (typeof ALL_CELLS)[number]
/** `BENCH_LOOP_CELLS=paced,idle`: only the cells whose names contain one of these (to profile one alone). */
const CELLS: readonly Cell[] = process.env.BENCH_LOOP_CELLS
  ? ALL_CELLS.filter((cell) =>
      (process.env.BENCH_LOOP_CELLS as string).split(',').some((part) => part && cell.includes(part.trim())),
    )
  : ALL_CELLS
const SYSTEM: Record<Exclude<Cell, 'idle'>, string> = {
  'one-time PIN': 'otp',
  'one-time PIN, paced': 'otp',
  'with memorized PIN': 'otp-mem',
}

interface Ready {
  readonly url: string
  readonly key: string
  /** Its libuv pool and where V8 scavenges (`threadsLine`). */
  readonly threads: string
}
/** What the server process says about its loop since the last reset: ms, and its CPU share of one core. */
interface LoopReport {
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly cpu: number
  /** The share of the time its event loop was busy (the main thread alone). */
  readonly busy: number
  /**
   * The share of the time its main thread was ready to run but waited for a core (Linux's schedstat),
   * and how often a second the kernel took the core from it; null where the kernel does not say.
   */
  readonly waited: { readonly share: number; readonly preemptedPerSecond: number } | null
}

/**
 * The main thread's time spent waiting for a core while runnable (ns) and its involuntary context
 * switches, from /proc (Linux with schedstats); null elsewhere.
 */
function schedulerWaits(): { waitedNs: number; preempted: number } | null {
  try {
    const task = `/proc/self/task/${process.pid}`
    const waitedNs = Number(readFileSync(`${task}/schedstat`, 'utf8').split(' ')[1])
    const preempted = Number(
      /nonvoluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`${task}/status`, 'utf8'))?.[1],
    )
    return Number.isFinite(waitedNs) && Number.isFinite(preempted) ? { waitedNs, preempted } : null
  } catch {
    return null
  }
}

// ---------------------------------------------------------------------------------------------------
// The server process.

async function serve(dir: string): Promise<void> {
  const server = await startServer(
    benchServerConfig(join(dir, 'loop.db')),
    // The message's PIN goes to the driving process, as a mailbox would hand it to the user.
    {
      async send(message) {
        process.send?.({ to: message.to, pin: parseSecret(message).pin })
        return { providerId: null }
      },
    },
    // The bench measures the loop under logins, not the call budgets' 429s (S19, S31).
    { throttle: false, ...(TURN_BUDGET_MS !== undefined ? { turnBudgetMs: TURN_BUDGET_MS } : {}) },
    // Diagnostics: the storage the server opens, at synchronous=NORMAL (commits wait for no fsync), or
    // with every sync on the pool.
    SYNCHRONOUS === 'normal' || !INLINE_SYNCS
      ? sqliteStorage({
          filename: join(dir, 'loop.db'),
          walCheckpoints: 'worker',
          synchronous: SYNCHRONOUS,
          inlineSyncs: INLINE_SYNCS,
        })
      : undefined,
  )
  const { engine } = server
  // Starts over HTTP carry their key, so its per-minute send limit is lifted too.
  const sendLimits = { ...LIFTED_SEND_LIMITS, perApiKeyPerMinute: 10_000_000 }
  const { id } = await engine.accounts.create({ name: 'Bench', settings: { sendLimits } })
  const account = engine.account(id)
  const { key } = await account.apiKeys.create({ name: 'bench', scopes: ['auth'] })
  await account.systems.create({ name: SYSTEM['one-time PIN'], policies: { pin: { enabled: true } } })
  await account.systems.create({
    name: SYSTEM['with memorized PIN'],
    policies: { pin: { enabled: true } },
    rules: [{ name: 'always', effect: { requireMemorizedPin: true } }],
  })
  for (let n = 0; n < USERS; n++) {
    const authid = `u${n}`
    await account.users.create({ authid, email: `${authid}@example.com` })
    await account.users.assign(authid, [
      { system: SYSTEM['one-time PIN'], method: 'pin' },
      { system: SYSTEM['with memorized PIN'], method: 'pin' },
    ])
    await account.users.setPin(authid, MEMORIZED_PIN)
  }
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  let cpuFrom = process.cpuUsage()
  let busyFrom = performance.eventLoopUtilization()
  let wallFrom = performance.now()
  let waitsFrom = schedulerWaits()
  process.on('message', (message) => {
    if (message === 'reset') {
      loop.reset()
      waitsFrom = schedulerWaits()
      cpuFrom = process.cpuUsage()
      busyFrom = performance.eventLoopUtilization()
      wallFrom = performance.now()
    } else if (message === 'report') {
      const cpu = process.cpuUsage(cpuFrom)
      const wall = performance.now() - wallFrom
      const waits = schedulerWaits()
      const report: LoopReport = {
        p50: loop.percentile(50) / 1e6,
        p99: loop.percentile(99) / 1e6,
        max: loop.max / 1e6,
        cpu: (cpu.user + cpu.system) / 1000 / wall,
        busy: performance.eventLoopUtilization(busyFrom).utilization,
        waited:
          waits && waitsFrom
            ? {
                share: (waits.waitedNs - waitsFrom.waitedNs) / 1e6 / wall,
                preemptedPerSecond: ((waits.preempted - waitsFrom.preempted) * 1000) / wall,
              }
            : null,
      }
      process.send?.({ report })
    } else if (message === 'stop') {
      loop.disable()
      server.close().finally(() => process.disconnect?.())
    }
  })
  process.send?.({
    ready: {
      url: server.url,
      key,
      threads: threadsLine(),
    },
  })
}

// ---------------------------------------------------------------------------------------------------
// The driving process.

/** PINs the server's notifier sent, by address, waiting for the login that asked for them. */
class Mailbox {
  private readonly waiting = new Map<string, (pin: string) => void>()
  private readonly arrived = new Map<string, string>()
  deliver(to: string, pin: string): void {
    const taker = this.waiting.get(to)
    if (taker) {
      this.waiting.delete(to)
      taker(pin)
    } else this.arrived.set(to, pin)
  }
  take(to: string): Promise<string> {
    const pin = this.arrived.get(to)
    if (pin !== undefined) {
      this.arrived.delete(to)
      return Promise.resolve(pin)
    }
    return new Promise((resolve) => this.waiting.set(to, resolve))
  }
}

/** The fields of an answer this bench reads. */
interface Answer {
  readonly result?: string
  readonly next?: string
}

async function post(ready: Ready, path: string, body: object): Promise<{ status: number; json: Answer }> {
  const response = await fetch(`${ready.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', apikey: ready.key },
    body: JSON.stringify(body),
  })
  return { status: response.status, json: (await response.json()) as Answer }
}

/** One PIN login of user n on `system`; throws unless it ends authenticated. */
async function login(ready: Ready, mailbox: Mailbox, system: string, n: number): Promise<void> {
  const authid = `u${n}`
  const pinArrives = mailbox.take(`${authid}@example.com`)
  const started = await post(ready, '/v1/start', { system, authid })
  if (started.json.result !== 'success')
    throw new Error(`start for ${authid}: ${JSON.stringify(started.json)}`)
  const pin = await pinArrives
  let checked = await post(ready, '/v1/check', { system, authid, pin })
  if (checked.json.result === 'pending' && checked.json.next === 'memorized_pin')
    checked = await post(ready, '/v1/check', { system, authid, pin: MEMORIZED_PIN })
  if (checked.json.result !== 'authenticated')
    throw new Error(`check for ${authid} on ${system}: ${JSON.stringify(checked.json)}`)
}

/** IN_FLIGHT workers, worker w logging in users w, w + IN_FLIGHT, …, for SECONDS; logins per second. */
async function drive(ready: Ready, mailbox: Mailbox, system: string, seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000
  let done = 0
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, w) => {
      for (let n = w; performance.now() < until; n = (n + IN_FLIGHT) % USERS) {
        await login(ready, mailbox, system, n)
        done++
      }
    }),
  )
  return done / seconds
}

/**
 * PACED_RATE logins per second for `seconds`, each started at its time on the clock by a free user (one
 * login per user at a time), whether or not earlier ones were answered: an open load, as many separate
 * users make it. Logins per second achieved; a login due while every user is busy starts when one is
 * free, so a rate below the offered one says the server could not keep up.
 */
async function pace(ready: Ready, mailbox: Mailbox, system: string, seconds: number): Promise<number> {
  const began = performance.now()
  const until = began + seconds * 1000
  const free = Array.from({ length: USERS }, (_, n) => n)
  const running = new Set<Promise<void>>()
  let started = 0
  let done = 0
  while (performance.now() < until) {
    const due = Math.floor(((performance.now() - began) * PACED_RATE) / 1000)
    while (started < due && free.length > 0) {
      const n = free.shift() as number
      started++
      const one: Promise<void> = login(ready, mailbox, system, n).then(() => {
        done++
        free.push(n)
        running.delete(one)
      })
      running.add(one)
    }
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  await Promise.all(running)
  return done / ((performance.now() - began) / 1000)
}

function ask(child: ChildProcess, message: string): Promise<LoopReport> {
  return new Promise((resolve) => {
    const listen = (reply: { report?: LoopReport }) => {
      if (!reply.report) return
      child.off('message', listen)
      resolve(reply.report)
    }
    child.on('message', listen)
    child.send(message)
  })
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-bench-loop-'))
  const mailbox = new Mailbox()
  const execArgv = [...process.execArgv]
  if (CPU_PROF) execArgv.push('--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`)
  const child = fork(fileURLToPath(import.meta.url), ['server', dir], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  try {
    const ready = await new Promise<Ready>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the server process exited (${code})`)))
      child.on('message', (message: { ready?: Ready; to?: string; pin?: string }) => {
        if (message.ready) resolve(message.ready)
        else if (message.to && message.pin) mailbox.deliver(message.to, message.pin)
      })
    })
    console.log(
      [
        "FlexSecure bench: the server's event loop under PIN logins over HTTP",
        `  server: startServer on SQLite at synchronous=${SYNCHRONOUS.toUpperCase()}${INLINE_SYNCS ? '' : ', every sync on the pool'}, ${availableParallelism()} cores,`,
        `          ${ready.threads};`,
        `  ${fmt(USERS)} users; load from another process: ${IN_FLIGHT} logins in flight, or ${fmt(PACED_RATE)} started a second (paced);`,
        `  ${ROUNDS} rounds of ${SECONDS} s per cell;`,
        `  loop delay: monitorEventLoopDelay (1 ms resolution) in the server process; load average ${loadavg()[0]?.toFixed(2)}`,
        `  load generator: ${GENERATOR_IDLE ? 'SCHED_IDLE (BENCH_LOOP_GENERATOR=idle): it never preempts the server' : "the scheduler's default policy, competing with the server for the cores"}`,
        '',
      ].join('\n'),
    )
    if (GENERATOR_IDLE) idleScheduling(process.pid)
    for (const system of Object.values(SYSTEM)) await drive(ready, mailbox, system, 1)

    const runs: Record<Cell, { rate: number; loop: LoopReport }[]> = {
      idle: [],
      'one-time PIN': [],
      'one-time PIN, paced': [],
      'with memorized PIN': [],
    }
    const loads: string[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const order = CELLS.map((_, i) => CELLS[(i + round) % CELLS.length] as Cell)
      for (const cell of order) {
        child.send('reset')
        const rate =
          cell === 'idle'
            ? await new Promise<number>((resolve) => setTimeout(() => resolve(0), SECONDS * 1000))
            : cell === 'one-time PIN, paced'
              ? await pace(ready, mailbox, SYSTEM[cell], SECONDS)
              : await drive(ready, mailbox, SYSTEM[cell], SECONDS)
        runs[cell].push({ rate, loop: await ask(child, 'report') })
      }
      loads.push(loadavg()[0]?.toFixed(2) ?? '?')
    }
    const mid = (cell: Cell, value: (run: { rate: number; loop: LoopReport }) => number) =>
      median(runs[cell].map(value))
    console.log(
      table(
        'lrrrrrrrr',
        [
          'cell',
          'logins/s',
          'loop p50 ms',
          'loop p99 ms',
          'p99 per round',
          'loop max ms',
          'server CPU',
          'loop busy',
          'waited for a core',
        ],
        CELLS.map((cell) => [
          cell,
          cell === 'idle' ? '-' : fmt(mid(cell, (r) => r.rate)),
          fmt(
            mid(cell, (r) => r.loop.p50),
            2,
          ),
          fmt(
            mid(cell, (r) => r.loop.p99),
            2,
          ),
          runs[cell].map((r) => fmt(r.loop.p99, 1)).join(' / '),
          fmt(
            mid(cell, (r) => r.loop.max),
            1,
          ),
          `${fmt(mid(cell, (r) => r.loop.cpu) * 100)}%`,
          `${fmt(mid(cell, (r) => r.loop.busy) * 100)}%`,
          waitedColumn(runs[cell].map((r) => r.loop.waited)),
        ]),
      ),
    )
    console.log(`  medians over rounds; load average (1 min) after each round: ${loads.join(', ')}`)
    console.log()
    const idle = CELLS.includes('idle')
      ? `idle: ${fmt(
          mid('idle', (r) => r.loop.p99),
          2,
        )} ms; `
      : ''
    for (const cell of CELLS.filter((c) => c !== 'idle'))
      console.log(
        `loop p99 under ${cell} logins: ${fmt(
          mid(cell, (r) => r.loop.p99),
          2,
        )} ms (${idle}target < ${TARGET_MS} ms)`,
      )
  } finally {
    if (child.connected) child.send('stop')
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The median share of the time the server's main thread waited for a core, and how often it was preempted a second. */
function waitedColumn(waits: readonly LoopReport['waited'][]): string {
  if (waits.some((w) => w === null)) return '-'
  const known = waits as readonly NonNullable<LoopReport['waited']>[]
  const share = median(known.map((w) => w.share))
  const preempted = median(known.map((w) => w.preemptedPerSecond))
  return `${fmt(share * 100, 1)}%, ${fmt(preempted)}/s`
}

/** Every thread of `pid` under SCHED_IDLE (Linux, util-linux's `chrt`); fails the run where it cannot. */
function idleScheduling(pid: number): void {
  try {
    execFileSync('chrt', ['--idle', '--all-tasks', '--pid', '0', String(pid)], { stdio: 'pipe' })
  } catch (error) {
    throw new Error(`BENCH_LOOP_GENERATOR=idle needs Linux and chrt (util-linux): ${String(error)}`)
  }
}

const [role, dir] = process.argv.slice(2)
if (role === 'server') await serve(dir as string)
else
  await main().catch((error: unknown) => {
    console.error('\nFAIL:', error)
    process.exitCode = 1
  })
