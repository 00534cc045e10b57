// Pending `check` polls through the real server (startServer: node:http, @hono/node-server, the HTTP
// handler, the engine on a SQLite file), as a ratio to a floor measured in the same run with the same load
// generator: a bare node:http server that parses the JSON body and answers 202 with a body of the same shape.
// Run it with `pnpm bench:http` in this package (or `pnpm bench:all`, which runs every bench).
// See README.md for how to read the output.
//
// Four processes: this one drives autocannon; each server runs in a child process of its own
// (http-poll-servers.ts, forked with a role argument), so no server shares an event loop with the load generator. The third
// server, a reading aid with no target, is the floor made to busy-wait a fixed time a poll, so that it
// answers at about the server's rate: what node and the kernel cost a poll grows as the rate falls.

import { type ChildProcess, fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import autocannon from 'autocannon'
import { fmt, median, table } from './bench-report.js'
import { setting } from './bench-settings.js'
import { type Ready, SERVERS_FILE, type Side, SLOWED_US, SYSTEM, USERS } from './http-poll-servers.js'

const TARGET = 0.3
const ROUNDS = setting('BENCH_HTTP_ROUNDS', 3)
const SECONDS = setting('BENCH_HTTP_SECONDS', 5)
const WARMUP_SECONDS = setting('BENCH_HTTP_WARMUP_SECONDS', 2)
const CONNECTIONS = setting('BENCH_HTTP_CONNECTIONS', 10)
/** A directory: the server processes run with `--cpu-prof`, writing to its `floor/`, `server/`, `slowed/`. */
const CPU_PROF = process.env.BENCH_HTTP_CPU_PROF || null

const PIPELINING = 1

// ---------------------------------------------------------------------------------------------------
// The load generator and the report.

interface Child {
  readonly process: ChildProcess
  readonly ready: Ready
}

/** Forks http-poll-servers.ts as a server process (with this process's tsx loader) and waits until it is ready. */
function spawnServer(role: Side, dir: string): Promise<Child> {
  const execArgv = [...process.execArgv]
  if (CPU_PROF) execArgv.push('--cpu-prof', `--cpu-prof-dir=${resolve(CPU_PROF, role)}`)
  const child = fork(SERVERS_FILE, [role, dir], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  return new Promise((resolve, reject) => {
    const exited = (code: number | null) =>
      reject(new Error(`the ${role} process exited (${code}) before it was ready`))
    child.once('error', reject)
    child.once('exit', exited)
    child.once('message', (ready) => {
      child.off('exit', exited)
      resolve({ process: child, ready: ready as Ready })
    })
  })
}

/** CPU time (user + system, and user alone, µs) a server process has used so far. */
function cpuOf(child: ChildProcess): Promise<{ cpu: number; user: number }> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve(message as { cpu: number; user: number }))
    child.send('cpu')
  })
}

/** Asks a server process to stop, and waits for it to exit. */
function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    if (child.connected) child.send('stop')
    else child.kill('SIGTERM')
  })
}

const body = (authid: string) => JSON.stringify({ system: SYSTEM, authid })

/** Every user's poll, answered once: it must be 202 with `result: pending`, on both sides. */
async function verifyPending(side: Side, ready: Ready): Promise<void> {
  for (const authid of ready.users) {
    const response = await fetch(`${ready.url}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', apikey: ready.key },
      body: body(authid),
    })
    const text = await response.text()
    const answer = (() => {
      try {
        return JSON.parse(text) as { result?: unknown }
      } catch {
        return {}
      }
    })()
    if (response.status !== 202 || answer.result !== 'pending')
      throw new Error(`${side}: the poll for ${authid} answered ${response.status} ${text}, not 202 pending`)
  }
}

interface Run {
  readonly rate: number
  readonly p50: number
  readonly p99: number
  readonly requests: number
  /** Answers other than 202, by status. */
  readonly other: Record<string, number>
  readonly errors: number
  readonly timeouts: number
  /** CPU the server process used during the run, as a share of one core. */
  readonly serverCpu: number
  /** CPU the load generator (this process) used during the run, as a share of one core. */
  readonly generatorCpu: number
  /** Server CPU time per answered poll, µs. */
  readonly cpuPerPoll: number
  /** The part of it in user space (node, the engine, SQLite), µs; the rest is the kernel's (sockets). */
  readonly userPerPoll: number
}

/** Response times in 10 µs buckets (autocannon's own histogram keeps whole milliseconds only). */
class Latencies {
  static readonly BUCKET_MS = 0.01
  private readonly counts = new Uint32Array(1_000_000)
  private total = 0

  record(ms: number): void {
    const bucket = Math.min(this.counts.length - 1, Math.floor(ms / Latencies.BUCKET_MS))
    this.counts[bucket] = (this.counts[bucket] as number) + 1
    this.total++
  }

  /** The upper edge of the bucket holding the `p`th percentile, in ms. */
  percentile(p: number): number {
    const rank = Math.ceil((p / 100) * this.total)
    let seen = 0
    for (let bucket = 0; bucket < this.counts.length; bucket++) {
      seen += this.counts[bucket] as number
      if (seen >= rank && seen > 0) return (bucket + 1) * Latencies.BUCKET_MS
    }
    return Number.NaN
  }
}

/** One autocannon run: CONNECTIONS keep-alive connections, each cycling through every user's poll. */
async function load({ process: child, ready }: Child, seconds: number): Promise<Run> {
  const serverBefore = await cpuOf(child)
  const generatorBefore = process.cpuUsage()
  const requests = ready.users.map((authid) => ({ body: body(authid) }))
  const latencies = new Latencies()
  let client = 0
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${ready.url}/v1/check`,
        method: 'POST',
        headers: { 'content-type': 'application/json', apikey: ready.key },
        connections: CONNECTIONS,
        pipelining: PIPELINING,
        duration: seconds,
        requests,
        // Each connection starts at a different user, so they do not poll in lockstep.
        setupClient: (c) => {
          const offset = Math.floor((client++ * requests.length) / CONNECTIONS)
          c.setRequests([...requests.slice(offset), ...requests.slice(0, offset)])
        },
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    )
    // The event passes the client first (the type definitions leave it out).
    ;(instance as NodeJS.EventEmitter).on('response', (_client, _status, _bytes, ms: number) =>
      latencies.record(ms),
    )
  })
  const generator = process.cpuUsage(generatorBefore)
  const serverAfter = await cpuOf(child)
  const serverCpu = serverAfter.cpu - serverBefore.cpu
  const serverUser = serverAfter.user - serverBefore.user
  const other: Record<string, number> = {}
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {}))
    if (status !== '202') other[status] = Number(stats.count ?? 0)
  return {
    rate: result.requests.total / result.duration,
    p50: latencies.percentile(50),
    p99: latencies.percentile(99),
    requests: result.requests.total,
    other,
    errors: result.errors,
    timeouts: result.timeouts,
    serverCpu: serverCpu / (result.duration * 1e6),
    generatorCpu: (generator.user + generator.system) / (result.duration * 1e6),
    cpuPerPoll: serverCpu / Math.max(1, result.requests.total),
    userPerPoll: serverUser / Math.max(1, result.requests.total),
  }
}

/** Throws, naming the side, unless every answer of the run was a 202. */
function expectAllPending(side: Side, run: Run): void {
  const other = Object.entries(run.other).filter(([, count]) => count > 0)
  const problems = [
    ...other.map(([status, count]) => `${fmt(count)} answers ${status}`),
    ...(run.errors > 0 ? [`${fmt(run.errors)} errors`] : []),
    ...(run.timeouts > 0 ? [`${fmt(run.timeouts)} timeouts`] : []),
  ]
  if (problems.length > 0 || run.requests === 0)
    throw new Error(
      `${side}: not every poll was answered 202 pending (${problems.join(', ') || 'no answers'}); ` +
        'the bench would not measure what it claims',
    )
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-bench-http-'))
  const children: ChildProcess[] = []
  try {
    const floor = await spawnServer('floor', dir)
    children.push(floor.process)
    const server = await spawnServer('server', dir)
    children.push(server.process)
    const slowed = SLOWED_US > 0 ? await spawnServer('slowed', dir) : null
    if (slowed) children.push(slowed.process)
    const sides: Partial<Record<Side, Child>> = { floor, server, ...(slowed ? { slowed } : {}) }
    const measured = Object.keys(sides) as Side[]
    for (const side of measured) await verifyPending(side, (sides[side] as Child).ready)

    const cores = availableParallelism()
    const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU'
    console.log(
      [
        'FlexSecure bench: pending `check` polls over HTTP, the real server against a bare node:http floor',
        `  node ${process.version}, ${cores} cores (${cpu})`,
        '  server: startServer: node:http + @hono/node-server + the HTTP handler + the engine on SQLite;',
        `          POST /v1/check with an auth key, rotating over ${fmt(USERS)} users, each with a pending`,
        '          passwordless challenge; poll limiter (S19) lifted; every answer must be 202 pending',
        '  floor:  a bare node:http server: read the body, JSON.parse it, answer 202 with a body of the',
        '          same shape and the same content-type and cache-control headers',
        ...(slowed
          ? [
              `  slowed: the floor with a busy wait of ${fmt(SLOWED_US)} µs a poll before each answer, so that it`,
              "          answers at about the server's rate (a reading aid, no target)",
            ]
          : []),
        `  load:   autocannon, ${CONNECTIONS} connections, pipelining ${PIPELINING}; ${ROUNDS} rounds of`,
        `          ${SECONDS} s per side, rotating which goes first, after ${WARMUP_SECONDS} s of warm-up`,
        `  the generator and the servers are separate processes sharing these ${cores} cores: absolute`,
        '  req/s understate a dedicated server; the ratio is what to track',
        '',
      ].join('\n'),
    )

    for (const side of measured) expectAllPending(side, await load(sides[side] as Child, WARMUP_SECONDS))

    const runs: Record<Side, Run[]> = { floor: [], server: [], slowed: [] }
    const ratios: number[] = []
    const rows: string[][] = []
    for (let round = 0; round < ROUNDS; round++) {
      const order = [
        ...measured.slice(round % measured.length),
        ...measured.slice(0, round % measured.length),
      ]
      for (const side of order) {
        const run = await load(sides[side] as Child, SECONDS)
        expectAllPending(side, run)
        runs[side].push(run)
      }
      const f = runs.floor[round] as Run
      const s = runs.server[round] as Run
      const w = runs.slowed[round]
      ratios.push(s.rate / f.rate)
      rows.push([
        String(round + 1),
        order[0] as string,
        fmt(f.rate),
        fmt(s.rate),
        ...(slowed ? [fmt((w as Run).rate)] : []),
        fmt(s.rate / f.rate, 3),
      ])
    }
    // The answers must still be pending after the load (statuses were checked throughout; bodies too, now).
    await verifyPending('server', server.ready)

    /** Medians over the rounds of one side. */
    const summary = (side: Side) => {
      const mid = (value: (run: Run) => number) => median(runs[side].map(value))
      return {
        rate: mid((r) => r.rate),
        p50: mid((r) => r.p50),
        p99: mid((r) => r.p99),
        serverCpu: mid((r) => r.serverCpu),
        generatorCpu: mid((r) => r.generatorCpu),
        cpuPerPoll: mid((r) => r.cpuPerPoll),
        userPerPoll: mid((r) => r.userPerPoll),
        polls: runs[side].reduce((total, r) => total + r.requests, 0),
      }
    }
    const medians = { floor: summary('floor'), server: summary('server'), slowed: summary('slowed') }
    const ratio = median(ratios)
    rows.push([
      'median',
      '',
      fmt(medians.floor.rate),
      fmt(medians.server.rate),
      ...(slowed ? [fmt(medians.slowed.rate)] : []),
      fmt(ratio, 3),
    ])
    console.log(
      table(
        slowed ? 'llrrrr' : 'llrrr',
        [
          'round',
          'first',
          'floor req/s',
          'server req/s',
          ...(slowed ? ['slowed req/s'] : []),
          'server/floor',
        ],
        rows,
      ),
    )
    console.log()

    const percent = (share: number) => `${fmt(share * 100)}%`
    console.log('per side, median over rounds: latency in ms, CPU as a share of one core')
    console.log(
      table(
        'lrrrrrrrr',
        [
          '',
          'req/s',
          'p50 ms',
          'p99 ms',
          'server CPU',
          'generator CPU',
          'CPU/poll',
          'user/poll',
          'polls (all 202)',
        ],
        measured.map((side) => [
          side,
          fmt(medians[side].rate),
          fmt(medians[side].p50, 2),
          fmt(medians[side].p99, 2),
          percent(medians[side].serverCpu),
          percent(medians[side].generatorCpu),
          `${fmt(medians[side].cpuPerPoll, 1)} µs`,
          `${fmt(medians[side].userPerPoll, 1)} µs`,
          fmt(medians[side].polls),
        ]),
      ),
    )
    console.log(
      [
        `  the ${cores} cores are shared: a side near 100% server CPU is bound by its server process; one`,
        '  near 100% generator CPU by autocannon (then that floor is a floor for this generator, not for',
        '  node:http). CPU time per poll depends less on a busy machine: the line below compares it.',
        '',
      ].join('\n'),
    )
    if (CPU_PROF)
      console.log(
        `CPU profiles: ${resolve(CPU_PROF)}/{${measured.join(',')}}/CPU.*.cpuprofile, the main thread's with '.0.'`,
      )
    if (slowed) {
      // What a poll costs beyond the busy wait, at the slowed floor's rate, against the floor's at its own.
      const beyond = medians.slowed.cpuPerPoll - SLOWED_US
      console.log(
        [
          `slowed floor: ${fmt(medians.slowed.cpuPerPoll, 1)} µs of CPU a poll at ${fmt(medians.slowed.rate)} polls/s, ${fmt(beyond, 1)} µs of it beyond its`,
          `  ${fmt(SLOWED_US)} µs wait: what node and the kernel cost a poll at that rate, where the floor's cost ${fmt(medians.floor.cpuPerPoll, 1)} µs`,
          `  at ${fmt(medians.floor.rate)}. The server's own work a poll is about its ${fmt(medians.server.cpuPerPoll, 1)} µs less that: ${fmt(medians.server.cpuPerPoll - beyond, 1)} µs`,
          `  (for reading only, no target; closest when the slowed floor's rate is the server's)`,
          '',
        ].join('\n'),
      )
    }

    const cpuRatio = medians.floor.cpuPerPoll / medians.server.cpuPerPoll
    console.log(`CPU per poll, floor/server: ${cpuRatio.toFixed(2)} (for reading only, no target)`)
    console.log(`ratio server/floor: ${ratio.toFixed(2)} (target >= ${TARGET})`)
  } finally {
    await Promise.all(children.map(stopServer))
    rmSync(dir, { recursive: true, force: true })
  }
}

await main().catch((error: unknown) => {
  console.error('\nFAIL:', error)
  process.exitCode = 1
})
