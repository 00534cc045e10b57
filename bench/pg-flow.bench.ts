// The in-process passwordless flow (start, confirm, check) on PostgreSQL, with 1 and with 4 processes, as a
// ratio to a floor measured in the same run: raw pg doing the four statements of the SQLite floor.
// Run it with `pnpm bench:pg` in this package (or `pnpm bench:all`, which runs every bench).
// See README.md for how to read the output.
//
// It creates a database of its own on the server at FLEXSECURE_BENCH_PG_URL and drops it at the end, even on
// failure. Without a reachable server it prints one line and exits 0. The multi-process runs fork this file
// (role `engine` or `floor`): each child logs in its own users, one login at a time.

import { type ChildProcess, execFileSync, fork } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { type AccountHandle, createEngine, type Engine } from '@flexsecure/core'
import { type CapturedMessage, type CaptureNotifier, captureNotifier } from '@flexsecure/core/testing'
import { postgresStorage } from '@flexsecure/postgres'
import pg from 'pg'
import { fmt, median, table, wrap } from './bench-report.js'
import { LIFTED_SEND_LIMITS, setting } from './bench-settings.js'

const TARGET = 0.33
const SERVER_URL = process.env.FLEXSECURE_BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres'
const ROUNDS = setting('BENCH_PG_ROUNDS', 5)
const SECONDS = setting('BENCH_PG_SECONDS', 3)
const PROCESSES = setting('BENCH_PG_PROCESSES', 4)
const USERS = setting('BENCH_PG_USERS', 1000)
const POOL = setting('BENCH_PG_POOL', 4)
/** Logins in flight in each process: workers of their own, each logging in users no other one touches. */
const IN_FLIGHT = setting('BENCH_PG_IN_FLIGHT', 1)
const SAMPLE_MS = setting('BENCH_PG_SAMPLE_MS', 20)
/**
 * A diagnostic, off by default: each engine process of the multi-process runs logs in users of an account of
 * its own, so no two processes share the account's hot rows (its audit head, its send counter).
 */
const SPLIT_ACCOUNTS = process.env.BENCH_PG_SPLIT_ACCOUNTS === '1'
/** A directory: the child processes run with `--cpu-prof`, writing to its `engine/` and `floor/`. */
const CPU_PROF = process.env.BENCH_PG_CPU_PROF || null
const FLOOR_WARMUP = 1000
/** Engine logins before timing: at least one lap over the users, in this process; a quarter in each child. */
const ENGINE_WARMUP = 1000
/** The counting pass: a first lap gives every user a challenge, a second lap is counted. */
const COUNTED_USERS = 200
/** Floor logins whose WAL is measured. */
const COUNTED_FLOOR_LOGINS = 400
/** Users created at once while seeding (not timed). */
const SEED_BATCH = 8

const SYSTEM = 'app'
const SECRET = 'bench-secret-bench-secret-bench-secret'
const BASE_URL = 'https://auth.example.com'
const LIFETIME_MS = 15 * 60 * 1000

/** The users of process `index` out of `processes`: every `processes`th one, so no two share a user. */
function usersOf(index: number, processes: number): string[] {
  const users: string[] = []
  for (let i = index; i < USERS; i += processes) users.push(`u${i}`)
  return users
}

/** One side of the bench, as one process runs it: sequential logins. */
interface Runner {
  /** The users it logs in, when it matters which (the engine's). */
  readonly users?: readonly string[]
  login(n: number): Promise<void>
  close(): Promise<void>
}

// ---------------------------------------------------------------------------------------------------
// The floor: a naive minimal login on raw prepared statements, each one its own autocommit transaction.

const FLOOR_SCHEMA = `
  CREATE TABLE floor_challenges (
    id text PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    status text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    completed_at bigint
  );
  CREATE TABLE floor_audit (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    challenge_id text NOT NULL,
    type text NOT NULL,
    at bigint NOT NULL
  );
`
const FLOOR_INSERT =
  "INSERT INTO floor_challenges (id, token_hash, status, created_at, expires_at) VALUES ($1, $2, 'pending', $3, $4)"
const FLOOR_SELECT = 'SELECT id, status, expires_at FROM floor_challenges WHERE token_hash = $1'
const FLOOR_CONFIRM =
  "UPDATE floor_challenges SET status = 'confirmed', completed_at = $1 WHERE id = $2 AND status = 'pending' AND expires_at > $3"
const FLOOR_AUDIT = 'INSERT INTO floor_audit (challenge_id, type, at) VALUES ($1, $2, $3)'

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * A pool of POOL connections, the same on both sides. Its connections stay open while idle (pg closes them
 * after 10 s by default, and a process waits longer than that between its runs), so no run pays for connecting.
 */
function openPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: POOL, idleTimeoutMillis: 0 })
  pool.on('error', idleError)
  return pool
}

/**
 * An idle connection's error: pg emits it on the pool or client, and without a listener it ends the process.
 * The one expected is the server ending connections when the bench drops its database (after Ctrl-C).
 */
function idleError(error: Error & { code?: string }): void {
  if (!dropping && error.code !== '57P01')
    console.error('[bench] an idle PostgreSQL connection failed:', error.message)
}

function openFloor(url: string): Runner {
  const pool = openPool(url)
  return {
    async login() {
      // Same sizes as the engine's: a 24-character id and a 32-character (192-bit) link token.
      const id = randomBytes(18).toString('base64url')
      const token = randomBytes(24).toString('base64url')
      const now = Date.now()
      // Named queries: pg prepares each once per connection, then only binds and executes it.
      await pool.query({
        name: 'floor_insert',
        text: FLOOR_INSERT,
        values: [id, sha256(token), now, now + LIFETIME_MS],
      })
      // The link comes back: hash the token again and find its challenge.
      const { rows } = await pool.query<{ id: string; status: string }>({
        name: 'floor_select',
        text: FLOOR_SELECT,
        values: [sha256(token)],
      })
      const row = rows[0]
      if (row?.status !== 'pending') throw new Error('floor: challenge not found')
      const confirmed = await pool.query({
        name: 'floor_confirm',
        text: FLOOR_CONFIRM,
        values: [now, row.id, now],
      })
      if (confirmed.rowCount !== 1) throw new Error('floor: challenge not confirmed')
      await pool.query({ name: 'floor_audit', text: FLOOR_AUDIT, values: [row.id, 'login', now] })
    },
    close: () => pool.end(),
  }
}

// ---------------------------------------------------------------------------------------------------
// The engine: the full passwordless flow through createEngine and the PostgreSQL adapter.

interface EngineBench extends Runner {
  readonly engine: Engine
  readonly acme: AccountHandle
  readonly notifier: CaptureNotifier
  readonly users: readonly string[]
}

/** Milliseconds spent in each step, summed over a run. */
interface StepTimes {
  start: number
  confirm: number
  check: number
}

/**
 * An engine on postgresStorage over `pool` (which its close() ends), logging in `users` of account `accountId`.
 * `times` sums each step's time, when set.
 */
function engineBench(
  pool: pg.Pool,
  accountId: string,
  users: readonly string[],
): EngineBench & { times: StepTimes | null } {
  const notifier = captureNotifier()
  const engine = createEngine({
    storage: postgresStorage({ pool }),
    notifier,
    secret: SECRET,
    links: { baseUrl: BASE_URL },
    // The bench measures the flow, not the call budgets of S31 (an account's 15 starts a second).
    throttle: false,
    // No timers of its own: their outbox claims landed inside the counted steps.
    background: false,
  })
  const acme = engine.account(accountId)
  const bench = {
    engine,
    acme,
    notifier,
    users,
    times: null as StepTimes | null,
    /** One login: start, follow the link, poll. `n` picks the user round-robin. */
    async login(n: number) {
      const authid = users[n % users.length] as string
      const t0 = performance.now()
      const started = await acme.start({ system: SYSTEM, authid })
      const t1 = performance.now()
      if (started.result !== 'success') throw new Error(`engine: start answered ${started.result}`)
      // This login's own message, taken out, so logins in flight together never take each other's.
      const sent = notifier.messages as CapturedMessage[]
      const index = sent.findLastIndex((m) => m.to === `${authid}@example.com`)
      const token = sent[index]?.token
      if (index >= 0) sent.splice(index, 1)
      if (!token) throw new Error('engine: no link token in the message')
      const t2 = performance.now()
      const confirmed = await engine.links.confirm(token)
      const t3 = performance.now()
      if (confirmed.result !== 'confirmed') throw new Error(`engine: confirm answered ${confirmed.result}`)
      const checked = await acme.check({ system: SYSTEM, authid })
      const t4 = performance.now()
      if (checked.result !== 'authenticated') throw new Error(`engine: check answered ${checked.result}`)
      if (bench.times) {
        bench.times.start += t1 - t0
        bench.times.confirm += t3 - t2
        bench.times.check += t4 - t3
      }
    },
    async close() {
      await engine.close()
      await pool.end()
    },
  }
  return bench
}

/** An account with send limits lifted, a system with passwordless, and `users` assigned to it. */
async function seedAccount(engine: Engine, name: string, users: readonly string[]): Promise<string> {
  // The bench measures the flow, not the throttle: lift the send limits (S18) far above its load.
  const { id } = await engine.accounts.create({ name, settings: { sendLimits: LIFTED_SEND_LIMITS } })
  const account = engine.account(id)
  await account.systems.create({ name: SYSTEM, policies: { passwordless: { enabled: true } } })
  for (let i = 0; i < users.length; i += SEED_BATCH)
    await Promise.all(
      users.slice(i, i + SEED_BATCH).map(async (authid) => {
        await account.users.create({ authid, email: `${authid}@example.com` })
        await account.users.assign(authid, [{ system: SYSTEM, method: 'passwordless' }])
      }),
    )
  return id
}

/**
 * Logs in until `ms` have passed, IN_FLIGHT logins at a time; returns the logins and the time they took.
 * One in flight takes the users round-robin (`next`); with more, worker w of k takes the users whose
 * number is w modulo k, so no two logins in flight share a user (a start would supersede the other's).
 */
async function runFor(
  runner: Runner,
  ms: number,
  next: () => number,
): Promise<{ logins: number; ms: number }> {
  const t0 = performance.now()
  let logins = 0
  const share = runner.users ? Math.max(1, Math.floor(runner.users.length / IN_FLIGHT)) : 1
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, w) => {
      for (let i = next(); performance.now() - t0 < ms; i = next()) {
        await runner.login(IN_FLIGHT === 1 ? i : w + IN_FLIGHT * (i % share))
        logins++
      }
    }),
  )
  return { logins, ms: performance.now() - t0 }
}

// ---------------------------------------------------------------------------------------------------
// The child processes of the multi-process runs.

type Side = 'floor' | 'engine'

type ToChild = { type: 'run'; startAt: number; ms: number } | { type: 'stop' }
type FromChild =
  | { type: 'ready' }
  /** `cpu`: CPU time (user + system, µs) the process used during the run. */
  | { type: 'done'; logins: number; ms: number; cpu: number }

async function child(role: Side, url: string, accountId: string, index: number, processes: number) {
  const users = usersOf(index, processes)
  const runner = role === 'engine' ? engineBench(openPool(url), accountId, users) : openFloor(url)
  let n = 0
  // Warm-up: JIT the path, and give every user a finished challenge before timing starts.
  const warmup = role === 'engine' ? Math.max(users.length, ENGINE_WARMUP / 4) : FLOOR_WARMUP
  for (let i = 0; i < warmup; i++) await runner.login(n++)
  let closing = false
  const stop = () => {
    if (closing) return
    closing = true
    runner
      .close()
      .catch((error) => {
        console.error(`[bench] ${role} process ${index}: close failed`, error)
        process.exitCode = 1
      })
      .finally(() => process.disconnect?.())
  }
  process.on('message', (message: ToChild) => {
    if (message.type === 'stop') stop()
    else if (message.type === 'run')
      void (async () => {
        // Started together: every process waits for the same wall-clock instant.
        await sleep(Math.max(0, message.startAt - Date.now()))
        const before = process.cpuUsage()
        const run = await runFor(runner, message.ms, () => n++)
        const cpu = process.cpuUsage(before)
        process.send?.({ type: 'done', ...run, cpu: cpu.user + cpu.system } satisfies FromChild)
      })().catch((error: unknown) => {
        console.error(`[bench] ${role} process ${index}:`, error)
        process.exit(1)
      })
  })
  process.on('disconnect', stop)
  process.send?.({ type: 'ready' } satisfies FromChild)
}

interface Child {
  readonly role: Side
  readonly process: ChildProcess
}

/** Forks this file as a `role` process (with this process's tsx loader) and waits until it has warmed up. */
function spawnChild(role: Side, url: string, accountId: string, index: number): Promise<Child> {
  const execArgv = [...process.execArgv]
  if (CPU_PROF) execArgv.push('--cpu-prof', `--cpu-prof-dir=${resolve(CPU_PROF, role)}`)
  const proc = fork(
    fileURLToPath(import.meta.url),
    [role, url, accountId, String(index), String(PROCESSES)],
    {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  )
  return new Promise((resolve, reject) => {
    const exited = (code: number | null) =>
      reject(new Error(`${role} process ${index} exited (${code}) before it was ready`))
    proc.once('error', reject)
    proc.once('exit', exited)
    proc.once('message', () => {
      proc.off('exit', exited)
      resolve({ role, process: proc })
    })
  })
}

/** Sends `run` to a child and waits for its answer; rejects if it exits first. */
function runChild(child: Child, startAt: number, ms: number): Promise<Extract<FromChild, { type: 'done' }>> {
  return new Promise((resolve, reject) => {
    const exited = (code: number | null) =>
      reject(new Error(`a ${child.role} process exited (${code}) mid-run`))
    child.process.once('exit', exited)
    child.process.once('message', (message: FromChild) => {
      child.process.off('exit', exited)
      if (message.type === 'done') resolve(message)
      else reject(new Error(`a ${child.role} process answered ${message.type}`))
    })
    child.process.send({ type: 'run', startAt, ms } satisfies ToChild)
  })
}

function stopChild({ process: proc }: Child): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
    proc.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    if (proc.connected) proc.send({ type: 'stop' } satisfies ToChild)
    else proc.kill('SIGTERM')
  })
}

// ---------------------------------------------------------------------------------------------------
// CPU: this machine's, the bench processes', and the PostgreSQL server's (when it runs on this machine).

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** The application_name of the bench's own monitoring connections, which its measures leave out. */
const MONITOR = 'flexsecure-bench-monitor'

/**
 * The server processes that work for this bench: the bench database's backends (but not the monitoring
 * connections) and the server's WAL writer, checkpointer and background writer. Backends
 * of other databases on the same server (a test suite running alongside, say) are left out.
 */
async function serverPids(admin: pg.Client): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(`
    SELECT pid FROM pg_stat_activity
    WHERE (datname = current_database() AND application_name <> '${MONITOR}')
       OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`)
  return rows.map((row) => row.pid)
}

/** CPU time (µs) used so far by each of processes `pids`, from /proc. */
function processCpu(pids: readonly number[]): Map<number, number> {
  const cpu = new Map<number, number>()
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      // After the name (which may hold spaces): state is field 3, utime 14 and stime 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      cpu.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS)
    } catch {
      // The process exited in the meantime.
    }
  }
  return cpu
}

/** Busy and total CPU time of the machine, summed over its cores, in ms. */
function machineCpu(): { busy: number; total: number } {
  let busy = 0
  let total = 0
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle
    total += all
    busy += all - times.idle
  }
  return { busy, total }
}

/** The server's processes are on this machine when its host is, and /proc shows them. */
function serverIsLocal(url: string): boolean {
  const host = new URL(url).hostname
  return ['127.0.0.1', 'localhost', '[::1]', '::1', ''].includes(host) && existsSync('/proc/self/stat')
}

// ---------------------------------------------------------------------------------------------------
// What the backends wait on: pg_stat_activity, sampled during the multi-process runs.

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
    /\bon conflict\b/i.test(text) ? ' ON CONFLICT' : '',
  ].join('')
}

const SAMPLE_SQL = `
  SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity
  WHERE datname = current_database() AND application_name <> '${MONITOR}' AND backend_type = 'client backend'
    AND state <> 'idle'`

interface Samples {
  samples: number
  /** Backends seen in each state (`state | statement`) over all samples. */
  readonly seen: Map<string, number>
}

/** Samples the bench database's busy backends every SAMPLE_MS until `stop` resolves. */
async function sampleActivity(admin: pg.Client, stop: Promise<void>): Promise<Samples> {
  const result: Samples = { samples: 0, seen: new Map() }
  let stopped = false
  void stop.then(() => {
    stopped = true
  })
  while (!stopped) {
    const { rows } = await admin.query<{
      state: string
      wait_event_type: string | null
      wait_event: string | null
      query: string
    }>(SAMPLE_SQL)
    result.samples++
    for (const row of rows) {
      const statement = describe(row.query)
      const state =
        row.state === 'idle in transaction'
          ? 'idle in transaction, after'
          : row.state !== 'active'
            ? row.state
            : row.wait_event_type === null
              ? 'running'
              : `waiting ${row.wait_event_type}:${row.wait_event}`
      const key = `${state}|${statement}`
      result.seen.set(key, (result.seen.get(key) ?? 0) + 1)
    }
    await Promise.race([sleep(SAMPLE_MS), stop])
  }
  return result
}

// ---------------------------------------------------------------------------------------------------
// The counting pass: the engine on a pool whose connections count and time their statements.

const STEPS = ['start', 'confirm', 'check'] as const
type Step = (typeof STEPS)[number]

interface StepCount {
  statements: number
  reads: number
  /** Statements run outside BEGIN ... COMMIT: each is a transaction of its own. */
  autocommit: number
  transactions: number
  rollbacks: number
  /** Bytes the step appended to the write-ahead log (mean, once summed). */
  walBytes: number
  /** Time spent waiting on statements (BEGIN and COMMIT included), ms. */
  dbMs: number
  /** The whole step, ms. */
  stepMs: number
  /** What ran, in order, BEGIN and COMMIT included. */
  sql: string[]
  /** How long each of `sql` took, ms (the mean over flows, once summed). */
  times: number[]
  /** When each of `sql` was sent and when its answer came, performance.now() ms. */
  sent: number[]
  answered: number[]
}

const emptyCount = (): StepCount => ({
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
function countingPool(url: string, current: () => StepCount | null): pg.Pool {
  const pool = openPool(url)
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    let inTransaction = false
    ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const count = current()
      const first = args[0] as string | { text?: string }
      const source = typeof first === 'string' ? first : (first?.text ?? '')
      if (count) {
        const verb = /^\s*(\w+)/.exec(source)?.[1]?.toUpperCase() ?? ''
        if (verb === 'BEGIN' || verb === 'START') {
          count.transactions++
          inTransaction = true
          count.sql.push('BEGIN')
        } else if (verb === 'COMMIT' || verb === 'ROLLBACK') {
          if (verb === 'ROLLBACK') count.rollbacks++
          inTransaction = false
          count.sql.push(verb)
        } else {
          count.statements++
          if (verb === 'SELECT') count.reads++
          if (!inTransaction) count.autocommit++
          count.sql.push(describe(source))
        }
      }
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
async function walPosition(admin: pg.Client): Promise<number> {
  const { rows } = await admin.query<{ lsn: string }>(
    "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::text AS lsn",
  )
  return Number(rows[0]?.lsn)
}

/** From statement `from` being sent until the COMMIT that ends its transaction answers, ms (its locks' hold). */
function heldFrom(count: StepCount, from: number): number {
  for (let i = from; i < count.sql.length; i++)
    if (count.sql[i] === 'COMMIT' || count.sql[i] === 'ROLLBACK')
      return (count.answered[i] as number) - (count.sent[from] as number)
  return 0
}

interface Counted {
  readonly steps: Record<Step, StepCount>
  /** Per login, µs the account's audit head row stays locked: from each `UPDATE fs_audit_heads … RETURNING` to its COMMIT. */
  readonly headHeld: number
  /** Transactions per login that lock the audit head. */
  readonly headTransactions: number
  /** Per login, µs the account-wide send counter stays locked: from start's last send-limit upsert to its COMMIT. */
  readonly counterHeld: number
}

/** Per-login statements, transactions, WAL and time of the engine's flow, on an account of its own. */
async function countEngine(url: string, admin: pg.Client, seeder: Engine): Promise<Counted> {
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
async function countFloor(url: string, admin: pg.Client): Promise<number> {
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

// ---------------------------------------------------------------------------------------------------
// Running and reporting.

/** One timed run of one side with 1 or PROCESSES processes. */
interface Run {
  readonly logins: number
  readonly rate: number
  /** Mean time of one login in one process, ms. */
  readonly latency: number
  /** CPU time of the bench process(es) per login, µs. */
  readonly benchCpu: number
  /** CPU time of the PostgreSQL server per login, µs (NaN when it is not on this machine). */
  readonly serverCpu: number
  /** Busy share of all the machine's cores during the run. */
  readonly busy: number
  /** The share of all cores busy with neither the bench processes nor its server processes: other load. */
  readonly other: number
  readonly samples: Samples | null
}

/**
 * Measures CPU around `work`, which returns each process's logins, time and CPU. `pids`: the server
 * processes to measure, or null when the server is not on this machine.
 */
async function measure(
  pids: (() => Promise<number[]>) | null,
  work: () => Promise<{ logins: number; ms: number; cpu: number }[]>,
  sample?: () => Promise<Samples>,
): Promise<Run> {
  const serverBefore = pids ? processCpu(await pids()) : null
  const samples = sample?.()
  const machine = machineCpu()
  const results = await work()
  const machineAfter = machineCpu()
  // A backend that connected during the run counts from zero.
  let server = Number.NaN
  if (pids && serverBefore) {
    server = 0
    for (const [pid, cpu] of processCpu(await pids())) server += cpu - (serverBefore.get(pid) ?? 0)
  }
  const logins = results.reduce((sum, r) => sum + r.logins, 0)
  const benchCpu = results.reduce((sum, r) => sum + r.cpu, 0)
  // The machine's counters are in ms, summed over its cores.
  const busy = (machineAfter.busy - machine.busy) * 1000
  const total = (machineAfter.total - machine.total) * 1000
  return {
    logins,
    rate: results.reduce((sum, r) => sum + r.logins / (r.ms / 1000), 0),
    latency: results.reduce((sum, r) => sum + r.ms, 0) / logins,
    benchCpu: benchCpu / logins,
    serverCpu: server / logins,
    busy: busy / total,
    other: Math.max(0, busy - benchCpu - server) / total,
    samples: samples ? await samples : null,
  }
}

/** Set once the bench drops its database: its connections' errors are then expected. */
let dropping = false

/** Drops the bench database; safe to call twice. */
function dropper(name: string): () => Promise<void> {
  let dropped: Promise<void> | undefined
  return () => {
    dropped ??= (async () => {
      dropping = true
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

    // Where the backends of the multi-process runs were: pooled over rounds.
    console.log(
      `where the ${p}-process runs' connections were: pg_stat_activity every ${SAMPLE_MS} ms, all rounds;` +
        ' mean connections per sample',
    )
    const activityRows: string[][] = []
    for (const [side, list] of [
      ['floor', runs.floorN],
      ['engine', runs.engineN],
    ] as const) {
      const seen = new Map<string, number>()
      let samples = 0
      for (const run of list) {
        if (!run.samples) continue
        samples += run.samples.samples
        for (const [key, count] of run.samples.seen) seen.set(key, (seen.get(key) ?? 0) + count)
      }
      const inDb = [...seen.values()].reduce((sum, count) => sum + count, 0) / samples
      const sorted = [...seen.entries()].sort((a, b) => b[1] - a[1])
      let other = 0
      for (const [key, count] of sorted) {
        const mean = count / samples
        if (mean < 0.03) {
          other += mean
          continue
        }
        const [state, statement] = key.split('|') as [string, string]
        activityRows.push([side, state, statement, fmt(mean, 2)])
      }
      if (other > 0) activityRows.push([side, 'other (each < 0.03)', '', fmt(other, 2)])
      activityRows.push([side, 'in PostgreSQL, all', '', fmt(inDb, 2)])
      activityRows.push([side, 'outside (in node, on the wire, or idle)', '', fmt(p - inDb, 2)])
    }
    console.log(table('lllr', ['', 'state', 'statement (last, when idle)', 'connections'], activityRows))
    console.log(
      [
        '  running: on CPU in PostgreSQL (or waiting for one); waiting Lock:transactionid: a row lock another',
        '  transaction holds; waiting LWLock:WALWrite / IO:WALSync: commit waiting for the WAL flush; idle in',
        '  transaction: PostgreSQL waits for the node process mid-transaction, holding its row locks',
        '',
      ].join('\n'),
    )

    await seeder.close()
    seeder = undefined
    await floor.close()
    floor = undefined

    // Counted after the timed rounds, on an account of its own: the wrapped pool never touches the timed runs.
    const counted = await countEngine(url, admin, setup)
    await setup.close()
    await setupPool.end()
    setupPool = undefined
    const counts = counted.steps
    const floorWal = await countFloor(url, admin)
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
          [
            'floor login',
            '4',
            '1',
            '3',
            '0',
            '4',
            '4',
            fmt(floorWal),
            fmt(1e6 / mid(runs.floor1, (r) => r.rate)),
            '',
          ],
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

    // The rows every login of one account locks, one login at a time: a ceiling no number of processes lifts.
    const ceiling = 1e6 / counted.headHeld
    console.log(
      'rows that every login of the account locks until its commit (from the counted pass, 1 process)',
    )
    const engineRateN = mid(runs.engineN, (r) => r.rate)
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
