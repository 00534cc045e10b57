import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { captureNotifier } from '@flexsecure/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedPayroll } from '../test/payroll-seed.js'
import { testServerConfig } from '../test/server-config.js'
import { type RunningServer, startServer } from './server.js'

// The turn budget in the real listener (turn-budget.ts, server.ts): with a budget so small that all but
// the first request and answer of every stretch of the event loop wait for a later check phase, a burst
// of requests is still answered, each with what it would get without the gate, errors included.

let dir: string
let server: RunningServer
let key: string
const notifier = captureNotifier()

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-turns-'))
  server = await startServer(testServerConfig(join(dir, 'db.sqlite')), notifier, {
    throttle: false,
    turnBudgetMs: 1e-9,
  })
  key = (await seedPayroll(server.engine, 20)).authKey
}, 30_000)
afterAll(async () => {
  await server.close()
  rmSync(dir, { recursive: true, force: true })
})

const post = async (path: string, body: string) => {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { apikey: key, 'content-type': 'application/json' },
    body,
  })
  return { status: response.status, body: (await response.json()) as { result?: string } }
}

describe('the turn budget in the server', () => {
  it('answers a burst of starts, checks and bad requests, each as without the gate', async () => {
    const user = (i: number) => JSON.stringify({ system: 'payroll', authid: `u${i}` })
    const started = await Promise.all(Array.from({ length: 20 }, (_, i) => post('/v1/start', user(i))))
    expect(started.map((r) => r.body.result)).toEqual(Array(20).fill('success'))
    const [checks, bad] = await Promise.all([
      Promise.all(Array.from({ length: 40 }, (_, i) => post('/v1/check', user(i % 20)))),
      Promise.all(Array.from({ length: 5 }, () => post('/v1/check', '{"system":'))),
    ])
    expect(checks.map((r) => [r.status, r.body.result])).toEqual(Array(40).fill([202, 'pending']))
    expect(bad.map((r) => r.status)).toEqual(Array(5).fill(400))
    expect(notifier.messages).toHaveLength(20)
  })
})
