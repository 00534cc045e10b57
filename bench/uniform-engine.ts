// The engine both S20 benches time (uniform-start.bench.ts, uniform-check.bench.ts): one SQLite file at the
// first mode of `BENCH_SYNCHRONOUS`, opened as the other benches open it (flexsecure-contender.ts), with the
// call budgets of S31 lifted: past them a refusal skips its audit write, and the benches time the refusals
// every caller meets first.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Clock, createEngine, type Engine } from '@flexsecure/core'
import { sqliteStorage } from '@flexsecure/sqlite'
import BetterSqlite3 from 'better-sqlite3'
import { type Synchronous, synchronousModes } from './bench-settings.js'
import { BENCH_SECRET, inboxNotifier } from './flexsecure-contender.js'

/** A migrated engine on a fresh file; `close` closes it and removes the file. */
export async function uniformEngine(
  name: string,
  clock?: Clock,
): Promise<{ engine: Engine; synchronous: Synchronous; close(): Promise<void> }> {
  const [synchronous] = synchronousModes()
  if (!synchronous) throw new Error('no synchronous mode')
  const dir = mkdtempSync(join(tmpdir(), `flexsecure-bench-${name}-`))
  const database = new BetterSqlite3(join(dir, 'uniform.db'))
  const engine = createEngine({
    storage: sqliteStorage({ database, walCheckpoints: 'worker' }),
    notifier: inboxNotifier(),
    secret: BENCH_SECRET,
    links: { baseUrl: 'https://auth.example.com' },
    throttle: false,
    ...(clock ? { clock, background: false } : {}),
  })
  const close = async () => {
    await engine.close()
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    database.pragma(`synchronous = ${synchronous}`)
    await engine.migrate()
  } catch (error) {
    await close()
    throw error
  }
  return { engine, synchronous, close }
}
