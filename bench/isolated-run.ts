// One contender in a process of its own, for `BENCH_ISOLATE=1 pnpm bench` (login-throughput.bench.ts):
// a fresh SQLite file, the same warm-up as the shared run, each cell once, the runs as JSON on stdout.
// In the shared run every contender lives in one V8 heap, so each pays for the garbage and the heap size
// of the others; here none does, as in a deployment.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { betterAuthContender } from './better-auth-contender.js'
import { flexSecureContender } from './flexsecure-contender.js'
import { type Cell, type CellRun, type Contender, runCell, warmUp } from './login-harness.js'

/** Which contender a child runs: Better Auth, or FlexSecure at its defaults (synchronous=FULL). */
export type IsolatedKind = 'better-auth' | 'flexsecure'

/** What the parent passes (as one JSON argument) and gets back (one JSON line). */
export interface IsolatedRequest {
  readonly kind: IsolatedKind
  readonly name: string
  readonly cells: readonly Cell[]
  readonly users: number
  readonly seconds: number
  readonly pinWarmUp: number
}
export type IsolatedAnswer = readonly CellRun[]

async function run(request: IsolatedRequest): Promise<IsolatedAnswer> {
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-bench-isolated-'))
  let contender: Contender | undefined
  try {
    const filename = join(dir, `${request.kind}.db`)
    contender =
      request.kind === 'better-auth'
        ? await betterAuthContender({ name: request.name, filename })
        : await flexSecureContender({
            name: request.name,
            filename,
            synchronous: 'full',
            users: request.users,
          })
    await warmUp(contender, request.users, { link: request.users, pin: request.pinWarmUp })
    const runs: CellRun[] = []
    for (const cell of request.cells)
      runs.push(await runCell(contender, cell, request.users, request.seconds))
    return runs
  } finally {
    await contender?.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const request = JSON.parse(process.argv[2] ?? '') as IsolatedRequest
process.stdout.write(`${JSON.stringify(await run(request))}\n`)
