// The child processes of the PostgreSQL flow bench's multi-process runs: pg-flow.bench.ts forks itself
// with a role (`engine` or `floor`), and the child warms up, then logs in its own users for each run it
// is sent, started at a common instant.

import { type ChildProcess, fork } from 'node:child_process'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { engineBench, openFloor, openPool, runFor, usersOf } from './pg-contenders.js'
import { CPU_PROF, ENGINE_WARMUP, FLOOR_WARMUP, PROCESSES } from './pg-settings.js'

export type Side = 'floor' | 'engine'

export type ToChild = { type: 'run'; startAt: number; ms: number } | { type: 'stop' }
export type FromChild =
  | { type: 'ready' }
  /** `cpu`: CPU time (user + system, µs) the process used during the run. */
  | { type: 'done'; logins: number; ms: number; cpu: number }

export async function child(role: Side, url: string, accountId: string, index: number, processes: number) {
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

export interface Child {
  readonly role: Side
  readonly process: ChildProcess
}

/** The bench's entry, which a child runs with its role (the last lines of pg-flow.bench.ts). */
const BENCH = fileURLToPath(new URL('./pg-flow.bench.ts', import.meta.url))

/** Forks the bench as a `role` process (with this process's tsx loader) and waits until it has warmed up. */
export function spawnChild(role: Side, url: string, accountId: string, index: number): Promise<Child> {
  const execArgv = [...process.execArgv]
  if (CPU_PROF) execArgv.push('--cpu-prof', `--cpu-prof-dir=${resolve(CPU_PROF, role)}`)
  const proc = fork(BENCH, [role, url, accountId, String(index), String(PROCESSES)], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
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
export function runChild(
  child: Child,
  startAt: number,
  ms: number,
): Promise<Extract<FromChild, { type: 'done' }>> {
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

export function stopChild({ process: proc }: Child): Promise<void> {
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
