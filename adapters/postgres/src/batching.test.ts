import { createEngine } from '@flexsecure/core'
import { captureNotifier } from '@flexsecure/core/testing'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { postgresReachable, SERVER_URL, testDatabase } from '../test/test-database.js'
import { postgresStorage } from './postgres-storage.js'

// `batching: false` exists to measure what PostgreSQL gains from batching (bench/README.md): it must log
// people in as the default does, through the one-row-per-statement paths SQLite takes.

/** The SQL texts `pg` clients send while `work` runs. */
async function statementsOf(work: () => Promise<unknown>): Promise<string[]> {
  const texts: string[] = []
  const query = pg.Client.prototype.query
  pg.Client.prototype.query = function (this: pg.Client, config: unknown, ...rest: unknown[]) {
    texts.push(typeof config === 'string' ? config : String((config as { text?: string }).text))
    return (query as (...args: unknown[]) => unknown).call(this, config, ...rest)
  } as typeof query
  try {
    await work()
  } finally {
    pg.Client.prototype.query = query
  }
  return texts
}

const reachable = await postgresReachable()

if (!reachable) {
  describe.skip(`PostgreSQL without batching: not run, no server at ${SERVER_URL} (set FLEXSECURE_TEST_PG_URL)`, () => {})
} else {
  const database = testDatabase()
  afterAll(() => database.drop())

  const SECRET = 'batching-test-secret-batching-test'
  const engineOn = (storage: ReturnType<typeof postgresStorage>, notifier = captureNotifier()) =>
    createEngine({
      storage,
      notifier,
      secret: SECRET,
      links: { baseUrl: 'https://auth.example.com' },
      background: false,
    })

  describe('PostgreSQL storage with batching off', () => {
    it('against the default, which takes the counters in two upserts and writes the audit head in a CTE', async () => {
      await database.reset()
      const engine = engineOn(postgresStorage({ connectionString: database.url }))
      try {
        await engine.migrate()
        const acme = engine.account((await engine.accounts.create({ name: 'Acme' })).id)
        await acme.systems.create({ name: 'app', policies: { passwordless: { enabled: true } } })
        await acme.users.create({ authid: 'alice', email: 'alice@example.com' })
        await acme.users.assign('alice', [{ system: 'app', method: 'passwordless' }])
        const started = await statementsOf(async () =>
          expect((await acme.start({ system: 'app', authid: 'alice' })).result).toBe('success'),
        )
        expect(started.filter((text) => /insert into "fs_rate_limits"/i.test(text))).toHaveLength(2)
        expect(started.filter((text) => /^\s*with\b/i.test(text)).length).toBeGreaterThanOrEqual(1)
      } finally {
        await engine.close()
      }
    })

    it('logs in, refuses past a send limit and records each outcome on its own, in a chain that verifies', async () => {
      await database.reset()
      const batched = postgresStorage({ connectionString: database.url })
      expect(batched.outbox.finishDeliveries).toBeTypeOf('function')
      await batched.close()

      const storage = postgresStorage({ connectionString: database.url, batching: false })
      expect(storage.outbox.finishDeliveries).toBeUndefined()
      const notifier = captureNotifier()
      const engine = engineOn(storage, notifier)
      let accountId: string
      try {
        await engine.migrate()
        // Three counters a start (user, destination, account): without batching, one upsert each.
        accountId = (
          await engine.accounts.create({
            name: 'Acme',
            settings: { sendLimits: { perUserPerHour: 2, resendCooldownSeconds: 0 } },
          })
        ).id
        const acme = engine.account(accountId)
        await acme.systems.create({ name: 'app', policies: { passwordless: { enabled: true } } })
        for (const authid of ['alice', 'bob', 'carol']) {
          await acme.users.create({ authid, email: `${authid}@example.com` })
          await acme.users.assign(authid, [{ system: 'app', method: 'passwordless' }])
        }
        const alice = { system: 'app', authid: 'alice' }
        // One row per statement: the three counters (user, destination, account) one upsert each, and no
        // writable CTE (the audit rows and the head's MAC in statements of their own).
        const started = await statementsOf(async () =>
          expect((await acme.start(alice)).result).toBe('success'),
        )
        expect(started.filter((text) => /insert into "fs_rate_limits"/i.test(text))).toHaveLength(3)
        expect(started.filter((text) => /^\s*with\b/i.test(text))).toEqual([])
        expect(
          started.filter((text) => /insert into "fs_audit_events"/i.test(text)).length,
        ).toBeGreaterThanOrEqual(2)
        const token = notifier.messages.at(-1)?.token
        expect((await engine.links.confirm(token as string)).result).toBe('confirmed')
        expect((await acme.check(alice)).result).toBe('authenticated')
        expect((await acme.start(alice)).result).toBe('success')
        expect((await acme.start(alice)).result).toBe('rate limited')
        // Concurrent appends to one account's chain, each audit row in a statement of its own.
        const others = await Promise.all(
          ['bob', 'carol'].map((authid) => acme.start({ system: 'app', authid })),
        )
        expect(others.map((answer) => answer.result)).toEqual(['success', 'success'])
      } finally {
        await engine.close() // writes the outcomes still queued
      }

      const reader = engineOn(postgresStorage({ connectionString: database.url }))
      try {
        const acme = reader.account(accountId)
        const { events } = await acme.audit.list({ limit: 100 })
        const sent = events.filter((event) => event.type === 'delivery' && event.outcome === 'sent')
        expect(sent).toHaveLength(4)
        expect(await acme.audit.verify()).toMatchObject({ ok: true, events: events.length })
      } finally {
        await reader.close()
      }
    })
  })
}
