import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { captureNotifier } from '@flexsecure/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedPayroll } from '../test/payroll-seed.js'
import { testServerConfig } from '../test/server-config.js'
import { type RunningServer, startServer } from './server.js'

// The operator's /metrics on the real server over a SQLite file: the storage's commits and syncs, by the
// thread each sync ran on (group-commit.ts, sync-placement.ts), beside the per-account counters; an
// account's admin sees its own counters and none of the database's (S38).

const OPERATOR_KEY = `fso_${'m'.repeat(43)}`
let dir: string
let server: RunningServer
let authKey: string
let adminKey: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-metrics-'))
  const digest = createHash('sha256').update(OPERATOR_KEY).digest('hex')
  server = await startServer(
    testServerConfig(join(dir, 'db.sqlite'), { operatorKeySha256: [digest] }),
    captureNotifier(),
    { throttle: false },
  )
  const { acme, authKey: key } = await seedPayroll(server.engine, 40)
  authKey = key
  adminKey = (await acme.apiKeys.create({ name: 'ops', scopes: ['admin'] })).key
}, 30_000)
afterAll(async () => {
  await server.close()
  rmSync(dir, { recursive: true, force: true })
})

const metrics = async (apikey: string) =>
  (await fetch(`${server.url}/metrics`, { headers: { apikey } })).text()
const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1))
}

describe("the operator's /metrics on SQLite", () => {
  it('counts the commits of starts one after another, and where their syncs ran', async () => {
    const before = await metrics(OPERATOR_KEY)
    for (let i = 0; i < 40; i++) {
      const response = await fetch(`${server.url}/v1/start`, {
        method: 'POST',
        headers: { apikey: authKey, 'content-type': 'application/json' },
        body: JSON.stringify({ system: 'payroll', authid: `u${i}` }),
      })
      expect(((await response.json()) as { result: string }).result).toBe('success')
    }
    const after = await metrics(OPERATOR_KEY)
    const moved = (series: string) => sample(after, series) - sample(before, series)
    expect(moved('flexsecure_storage_commits_total')).toBeGreaterThanOrEqual(40)
    expect(moved('flexsecure_storage_transactions_total')).toBeGreaterThanOrEqual(40)
    // Every start waits for a sync of its own (S37), on the pool or on the loop's thread: which one
    // depends on this disk's speed (sync-placement.ts; its tests decide it with a clock of their own).
    const onLoop = moved('flexsecure_storage_syncs_total{thread="event loop"}')
    const onPool = moved('flexsecure_storage_syncs_total{thread="pool"}')
    expect(onLoop).toBeGreaterThanOrEqual(0)
    expect(onPool).toBeGreaterThanOrEqual(0)
    expect(onLoop + onPool).toBeGreaterThanOrEqual(40)
    expect(after).toContain('flexsecure_starts_total{result="success"} 40')
    const admins = await metrics(adminKey)
    expect(admins).toContain('flexsecure_starts_total{result="success"} 40')
    expect(admins).not.toContain('flexsecure_storage_')
  })
})
