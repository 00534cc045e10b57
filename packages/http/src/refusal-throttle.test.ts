import type { Storage } from '@flexsecure/core'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { BASE, type HandlerFixture, handlerFixture, storageKinds } from '../test/storage-fixtures.js'

// Issue 12, item 2, through the HTTP handler on every storage: refusals are throttled per key before
// any work and audited as counted summaries (S31); polls are counted per login as storage resolved it,
// so spellings a collation folds together share one budget (S19).

const kinds = await storageKinds()
afterAll(async () => {
  for (const kind of kinds) await kind.drop()
}, 60_000)

/** What a case- and accent-insensitive collation does with names (MariaDB's default before S38). */
function foldingNames(storage: Storage): Storage {
  const folded = (authid: string) => authid.normalize('NFD').replace(/\p{M}/gu, '').trim().toLowerCase()
  const resolveLogin = storage.logins.resolveLogin.bind(storage.logins)
  vi.spyOn(storage.logins, 'resolveLogin').mockImplementation((account, system, authid) =>
    resolveLogin(account, system, folded(authid)),
  )
  // A collation folds every read: the check's narrow one too.
  const pollLogin = storage.logins.pollLogin?.bind(storage.logins)
  if (pollLogin)
    vi.spyOn(storage.logins, 'pollLogin').mockImplementation((account, system, authid) =>
      pollLogin(account, system, folded(authid)),
    )
  return storage
}

describe.each(kinds)('refusals on $name', (kind) => {
  let f: HandlerFixture
  afterEach(async () => {
    await f.close()
  }, 30_000)

  const post = async (path: string, body: unknown, key = f.keys.auth) => {
    const response = await f.handler(
      new Request(`${BASE}${path}`, {
        method: 'POST',
        headers: { apikey: key, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    )
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
  const auditRows = async () => {
    let rows = 0
    let after: number | undefined
    for (;;) {
      const page = await f.acme.audit.list({ limit: 1000, ...(after !== undefined ? { after } : {}) })
      rows += page.events.length
      if (page.next === null) return rows
      after = page.next
    }
  }

  it('throttles 1,000 checks of random unknown users and adds a bounded number of audit events', async () => {
    // The defaults: 500 checks a key at once; the injected clock stands still, so nothing refills.
    f = await handlerFixture(await kind.open())
    const before = await auditRows()
    const statuses: number[] = []
    for (let i = 0; i < 1000; i++) {
      const authid = `u${Math.random().toString(36).slice(2)}`
      statuses.push((await post('/v1/check', { system: 'payroll', authid })).status)
    }
    expect(statuses.filter((s) => s === 403)).toHaveLength(500)
    expect(statuses.filter((s) => s === 429)).toHaveLength(500)
    // 30 refusals audited one by one, the other 970 calls in one summary event.
    f.clock.advance(60_000)
    await f.engine.runDue()
    expect((await auditRows()) - before).toBe(31)
    const [summary] = (await f.acme.audit.list({ type: 'refusals.summarized' })).events
    expect(summary?.details).toMatchObject({
      total: 970,
      counts: { 'check: unknown_user': 470, 'check: rate limited': 500 },
    })
  }, 120_000)

  it('starts a real user’s login from one key while another key floods unknown users', async () => {
    f = await handlerFixture(
      await kind.open(),
      {},
      { throttle: { start: { perKey: { burst: 20, perSecond: 1 } } } },
    )
    await f.acme.settings.update({ uniformResponses: true })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    const flooder = (await f.acme.apiKeys.create({ name: 'flooder', scopes: ['auth'] })).key
    const flood = Array.from({ length: 200 }, (_, i) =>
      post('/v1/start', { system: 'payroll', authid: `nobody${i}` }, flooder),
    )
    const real = post('/v1/start', { system: 'payroll', authid: 'alice' })
    const floodStatuses = (await Promise.all(flood)).map((r) => r.status)
    expect(await real).toMatchObject({
      status: 200,
      body: { result: 'success', challengeId: expect.any(String) },
    })
    expect(floodStatuses.filter((s) => s === 200)).toHaveLength(20)
    expect(floodStatuses.filter((s) => s === 429)).toHaveLength(180)
    expect(f.notifier.messages.map((m) => m.to)).toEqual(['alice@example.com'])
  }, 120_000)

  it('counts polls of every spelling of one user against that user’s budget (S19)', async () => {
    f = await handlerFixture(foldingNames(await kind.open()))
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await post('/v1/start', { system: 'payroll', authid: 'alice' })
    const spellings = ['alice', 'ALICE', 'Alice ', 'ÁLICE', 'aLiCe']
    const answers = []
    for (let i = 0; i < 30; i++)
      answers.push(await post('/v1/check', { system: 'payroll', authid: spellings[i % 5] }))
    // The default budget: a burst of 10.
    expect(answers.filter((a) => a.status === 202)).toHaveLength(10)
    expect(answers.slice(10).map((a) => a.status)).toEqual(Array(20).fill(429))
  }, 60_000)

  it('never lets spellings of one user reach its challenge more than its poll budget, whatever the collation', async () => {
    // No folding here: on MySQL/MariaDB with a case-insensitive collation the spellings reach alice; on
    // a binary one (S38) and on the others they are unknown users. Either way alice's challenge is
    // answered at most 10 times.
    f = await handlerFixture(await kind.open())
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await post('/v1/start', { system: 'payroll', authid: 'alice' })
    const spellings = ['alice', 'ALICE', 'Alice ', 'ÁLICE', 'aLiCe']
    const answers = []
    for (let i = 0; i < 30; i++)
      answers.push(await post('/v1/check', { system: 'payroll', authid: spellings[i % 5] }))
    expect(answers.filter((a) => a.status === 202).length).toBeLessThanOrEqual(10)
  }, 60_000)
})
