import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { captureNotifier } from '@flexsecure/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testServerConfig } from '../test/server-config.js'
import type { ServerConfig } from './config.js'
import { type RunningServer, startServer } from './server.js'

// Issue 12, item 2, black box: the real listener on a SQLite file, called over sockets. Refusals are
// throttled per key before any work, audited as counted summaries (S31), so a flood of unknown users
// neither grows the database nor keeps a real user out.

const SECRET = 's'.repeat(40)
let dir: string
let database: string
const notifier = captureNotifier()
let accountId: string
const keys = { host: '', flooder: '' }

const config = (): ServerConfig =>
  testServerConfig(database, {
    secret: SECRET,
    // Budgets that refill slowly, so what is throttled does not depend on how fast this machine is.
    throttle: {
      start: { perKey: { burst: 50, perSecond: 0.01 } },
      check: { perKey: { burst: 200, perSecond: 0.01 } },
    },
  })

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-flood-'))
  database = join(dir, 'db.sqlite')
  const server = await startServer(config(), notifier)
  const { id } = await server.engine.accounts.create({ name: 'Acme' })
  accountId = id
  const acme = server.engine.account(id)
  await acme.systems.create({ name: 'payroll', policies: { passwordless: { enabled: true } } })
  await acme.users.create({ authid: 'alice', email: 'alice@example.com' })
  await acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
  keys.host = (await acme.apiKeys.create({ name: 'host', scopes: ['auth'] })).key
  keys.flooder = (await acme.apiKeys.create({ name: 'flooder', scopes: ['auth'] })).key
  await server.close()
}, 30_000)
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

const post = async (server: RunningServer, path: string, key: string, body: unknown) => {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { apikey: key, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

/** Runs `tasks` with at most `parallel` in flight. */
async function inParallel<T>(tasks: (() => Promise<T>)[], parallel: number): Promise<T[]> {
  const results: T[] = []
  let next = 0
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++
      results[i] = await (tasks[i] as () => Promise<T>)()
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  return results
}

describe('a flood of refusals against the running server (S31)', () => {
  it('throttles 1,000 checks of random unknown users and grows the database by a few pages', async () => {
    // Closed, so the WAL is folded into the file: sizes compare like for like.
    const before = statSync(database).size
    const server = await startServer(config(), notifier)
    const statuses = await inParallel(
      Array.from({ length: 1000 }, () => async () => {
        const authid = `u${Math.random().toString(36).slice(2)}`
        return (await post(server, '/v1/check', keys.flooder, { system: 'payroll', authid })).status
      }),
      16,
    )
    await server.close()
    const admitted = statuses.filter((s) => s === 403).length
    expect(admitted).toBeGreaterThanOrEqual(200)
    expect(admitted).toBeLessThan(300)
    expect(statuses.filter((s) => s === 429).length).toBe(1000 - admitted)
    // Before S31: 1,000 audit rows, 4.2 MB. Now 30 rows and one summary (written when the server stopped).
    expect(statSync(database).size - before).toBeLessThanOrEqual(128 * 1024)

    const again = await startServer(config(), notifier)
    try {
      const { events } = await again.engine.account(accountId).audit.list({ type: 'refusals.summarized' })
      expect(events).toHaveLength(1)
      expect(events[0]?.details).toMatchObject({ total: 970 })
    } finally {
      await again.close()
    }
  }, 120_000)

  it('starts a real user’s login while another key floods unknown users in uniform mode', async () => {
    const server = await startServer(config(), notifier)
    try {
      await server.engine.account(accountId).settings.update({ uniformResponses: true })
      const flood = inParallel(
        Array.from({ length: 300 }, (_, i) => async () => {
          const body = { system: 'payroll', authid: `nobody${i}` }
          return (await post(server, '/v1/start', keys.flooder, body)).status
        }),
        64,
      )
      const real = await post(server, '/v1/start', keys.host, { system: 'payroll', authid: 'alice' })
      const statuses = await flood
      expect(real).toMatchObject({
        status: 200,
        body: { result: 'success', challengeId: expect.any(String) },
      })
      const admitted = statuses.filter((s) => s === 200).length
      expect(admitted).toBeGreaterThanOrEqual(50)
      expect(admitted).toBeLessThan(60)
      expect(statuses.filter((s) => s === 429).length).toBe(300 - admitted)
      // The real login's message went out; the decoys sent nothing.
      for (let i = 0; i < 100 && notifier.messages.length === 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 20))
      expect(notifier.messages.map((m) => m.to)).toEqual(['alice@example.com'])
    } finally {
      await server.close()
    }
  }, 120_000)
})
