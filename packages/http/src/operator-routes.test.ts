import { createHash } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type EngineFixture,
  engineFixture,
  TEST_SECRET,
} from '../../../adapters/sqlite/test/engine-fixture.js'
import { createHttpHandler } from './http-handler.js'

const BASE = 'https://auth.example.com'
const OPERATOR_KEY = `fso_${'k'.repeat(43)}`
const OPERATOR_DIGEST = createHash('sha256').update(OPERATOR_KEY).digest('hex')
let f: EngineFixture
let handler: ReturnType<typeof createHttpHandler>
let adminKey: string
let authKey: string

beforeEach(async () => {
  f = await engineFixture()
  handler = createHttpHandler({ engine: f.engine, secret: TEST_SECRET, operatorKeySha256: [OPERATOR_DIGEST] })
  adminKey = (await f.acme.apiKeys.create({ name: 'ops', scopes: ['admin', 'auth'] })).key
  authKey = (await f.acme.apiKeys.create({ name: 'host', scopes: ['auth'] })).key
})
afterEach(() => f.close())

const get = (path: string, apikey?: string) =>
  handler(new Request(`${BASE}${path}`, { headers: apikey ? { apikey } : {} }))
const start = (apikey: string, body: unknown) =>
  handler(
    new Request(`${BASE}/v1/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', apikey },
      body: JSON.stringify(body),
    }),
  )

describe('/metrics (S38)', () => {
  it('refuses a request without a key, and an auth-only key', async () => {
    expect((await get('/metrics')).status).toBe(403)
    expect(await (await get('/metrics', authKey)).json()).toEqual({
      result: 'security error',
      reason: 'forbidden_scope',
    })
  })

  it("shows an account's admin only its own figures, and the operator every account's", async () => {
    const other = f.engine.account((await f.engine.accounts.create({ name: 'Other' })).id)
    const otherAdmin = (await other.apiKeys.create({ name: 'o', scopes: ['admin', 'auth'] })).key
    await start(adminKey, { system: 'payroll', authid: 'nobody' })
    await start(adminKey, { system: 'payroll', authid: 'nobody' })
    await start(otherAdmin, { system: 'nothing', authid: 'nobody' })
    const mine = await (await get('/metrics', adminKey)).text()
    const theirs = await (await get('/metrics', otherAdmin)).text()
    const all = await (await get('/metrics', OPERATOR_KEY)).text()
    expect(mine).toContain('flexsecure_starts_total{result="security error"} 2')
    expect(theirs).toContain('flexsecure_starts_total{result="security error"} 1')
    expect(all).toContain('flexsecure_starts_total{result="security error"} 3')
  })

  it("shows the operator the storage's commits and syncs, and an account's admin none of them", async () => {
    const withStats = createHttpHandler({
      engine: f.engine,
      secret: TEST_SECRET,
      operatorKeySha256: [OPERATOR_DIGEST],
      commitStats: () => f.storage.commitStats(),
    })
    const metrics = async (apikey: string) =>
      (await withStats(new Request(`${BASE}/metrics`, { headers: { apikey } }))).text()
    const commits = (text: string) => Number(/^flexsecure_storage_commits_total (\d+)$/m.exec(text)?.[1])
    const before = await metrics(OPERATOR_KEY)
    await f.acme.users.create({ authid: 'newcomer', email: 'newcomer@example.com' })
    const after = await metrics(OPERATOR_KEY)
    expect(commits(after)).toBeGreaterThan(commits(before))
    expect(after).toMatch(/^flexsecure_storage_transactions_total \d+$/m)
    // An in-memory database has no log to sync: both threads show 0.
    expect(after).toContain('flexsecure_storage_syncs_total{thread="event loop"} 0')
    expect(after).toContain('flexsecure_storage_syncs_total{thread="pool"} 0')
    expect(await metrics(adminKey)).not.toContain('flexsecure_storage_')
  })
})

describe('/v1/operator/accounts', () => {
  const create = (apikey: string, body: unknown) =>
    handler(
      new Request(`${BASE}/v1/operator/accounts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', apikey },
        body: JSON.stringify(body),
      }),
    )

  it('creates an account with its first admin key, which then manages that account alone', async () => {
    const created = await create(OPERATOR_KEY, { name: 'Tenant' })
    expect(created.status).toBe(201)
    const body = await created.json()
    expect(body).toMatchObject({ name: 'Tenant', adminKey: expect.stringMatching(/^fsk_/) })
    const systems = await get('/v1/admin/systems', body.adminKey)
    expect([systems.status, await systems.json()]).toEqual([200, { systems: [] }])
    const listed = await (await get('/v1/operator/accounts', OPERATOR_KEY)).json()
    expect(listed.accounts.map((a: { name: string }) => a.name).sort()).toEqual(['Acme', 'Tenant'])
  })

  it("refuses an account's admin key, a wrong operator key, and a body with unknown fields", async () => {
    expect((await get('/v1/operator/accounts', adminKey)).status).toBe(403)
    expect((await get('/v1/operator/accounts', `fso_${'x'.repeat(43)}`)).status).toBe(403)
    expect((await get('/v1/operator/accounts')).status).toBe(403)
    expect((await create(OPERATOR_KEY, { name: 'T', plan: 'gold' })).status).toBe(400)
  })

  it('is closed when no operator key is configured', async () => {
    const closed = createHttpHandler({ engine: f.engine, secret: TEST_SECRET })
    const answer = await closed(
      new Request(`${BASE}/v1/operator/accounts`, { headers: { apikey: OPERATOR_KEY } }),
    )
    expect(answer.status).toBe(403)
  })

  it('does not let the operator key call an account route', async () => {
    expect((await get('/v1/admin/systems', OPERATOR_KEY)).status).toBe(403)
  })
})

describe('/readyz', () => {
  const ready = (readiness: () => Promise<{ pending: readonly string[] }>) =>
    createHttpHandler({ engine: f.engine, secret: TEST_SECRET, readiness })(new Request(`${BASE}/readyz`))

  it('is ready when the database answers with no migration pending', async () => {
    const answer = await ready(async () => ({ pending: [] }))
    expect([answer.status, await answer.json()]).toEqual([200, { status: 'ok' }])
  })

  it('is unavailable with migrations pending, or when the database does not answer', async () => {
    const pending = await ready(async () => ({ pending: ['0003_next'] }))
    expect([pending.status, await pending.json()]).toEqual([
      503,
      { status: 'unavailable', problem: 'migrations pending', pending: ['0003_next'] },
    ])
    const down = await ready(async () => Promise.reject(new Error('ECONNREFUSED')))
    expect([down.status, (await down.json()).problem]).toEqual([503, 'database unreachable'])
  })
})
