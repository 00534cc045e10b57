// What the PostgreSQL flow bench measures around its runs: CPU (this machine's, the bench processes',
// and the PostgreSQL server's when it runs on this machine) and what the backends wait on
// (pg_stat_activity, sampled during the multi-process runs).

import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import { describeStatement, fmt, table } from './bench-report.js'
import { IN_FLIGHT, POOL, SAMPLE_MS } from './pg-settings.js'

export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** The application_name of the bench's own monitoring connections, which its measures leave out. */
export const MONITOR = 'flexsecure-bench-monitor'

/**
 * The server processes that work for this bench: the bench database's backends (but not the monitoring
 * connections) and the server's WAL writer, checkpointer and background writer. Backends
 * of other databases on the same server (a test suite running alongside, say) are left out.
 */
export async function serverPids(admin: pg.Client): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(`
    SELECT pid FROM pg_stat_activity
    WHERE (datname = current_database() AND application_name <> '${MONITOR}')
       OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`)
  return rows.map((row) => row.pid)
}

/** CPU time (µs) used so far by each of processes `pids`, from /proc. */
export function processCpu(pids: readonly number[]): Map<number, number> {
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
export function machineCpu(): { busy: number; total: number } {
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
export function serverIsLocal(url: string): boolean {
  const host = new URL(url).hostname
  return ['127.0.0.1', 'localhost', '[::1]', '::1', ''].includes(host) && existsSync('/proc/self/stat')
}

// ---------------------------------------------------------------------------------------------------
// What the backends wait on: pg_stat_activity, sampled during the multi-process runs.

export const SAMPLE_SQL = `
  SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity
  WHERE datname = current_database() AND application_name <> '${MONITOR}' AND backend_type = 'client backend'
    AND state <> 'idle'`

export interface Samples {
  samples: number
  /** Backends seen in each state (`state | statement`) over all samples. */
  readonly seen: Map<string, number>
}

/** Samples the bench database's busy backends every SAMPLE_MS until `stop` resolves. */
export async function sampleActivity(admin: pg.Client, stop: Promise<void>): Promise<Samples> {
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
      const statement = describeStatement(row.query)
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
// What a run cost.

/** One timed run of one side with 1 or PROCESSES processes. */
export interface Run {
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
export async function measure(
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

/** Where the backends of the multi-process runs were, pooled over rounds: a table and its legend. */
export function printActivity(
  runs: { readonly floor: readonly Run[]; readonly engine: readonly Run[] },
  p: number,
): void {
  console.log(
    `where the ${p}-process runs' connections were: pg_stat_activity every ${SAMPLE_MS} ms, all rounds;` +
      ' mean connections per sample',
  )
  const activityRows: string[][] = []
  for (const [side, list] of [
    ['floor', runs.floor],
    ['engine', runs.engine],
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
    // Each process has at most min(logins in flight, its pool) connections busy at once.
    const connections = p * Math.min(IN_FLIGHT, POOL)
    activityRows.push([side, 'outside (in node, on the wire, or idle)', '', fmt(connections - inDb, 2)])
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
}
