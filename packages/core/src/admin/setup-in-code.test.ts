import { describe, expect, it } from 'vitest'
import { createEngine, type Engine } from '../engine.js'
import type { Storage } from '../ports/storage.js'
import { TEST_SECRET } from '../testing/engine-fixture.js'
import { captureNotifier, cheapHasher, manualClock, memoryStorage } from '../testing/index.js'

/** A database that outlives the app: each boot gets the same stored rows, and closing keeps them. */
function database(): () => Storage {
  const storage = memoryStorage()
  return () => ({ ...storage, close: async () => {} })
}

/** One boot of an app that configures FlexSecure in code, on a database that outlives it. */
async function boot(
  opened: () => Storage,
  options: { lifetimeSeconds?: number; sensitivity?: 'low' | 'high' } = {},
) {
  const engine = createEngine({
    storage: opened(),
    notifier: captureNotifier(),
    secret: TEST_SECRET,
    links: { baseUrl: 'https://app.example.com' },
    clock: manualClock(),
    hasher: cheapHasher(),
  })
  await engine.migrate()
  const { id } = await engine.accounts.ensure({ name: 'Acme', settings: { uniformResponses: true } })
  const acme = engine.account(id)
  const system = await acme.systems.ensure({
    name: 'web',
    policies: {
      passwordless: {
        enabled: true,
        lifetimeSeconds: options.lifetimeSeconds ?? 600,
        returnUrls: ['https://app.example.com/auth/return'],
      },
    },
    sensitivity: options.sensitivity ?? 'low',
    rules: [{ name: 'office', when: { ipIn: ['203.0.113.0/24'] }, effect: { maxLifetimeSeconds: 300 } }],
  })
  return { engine, acme, system }
}

const systemEvents = async (engine: Engine, accountId: string) =>
  (await engine.account(accountId).audit.list()).events
    .map((e) => e.type)
    .filter((type) => type.startsWith('system.') || type.startsWith('account.'))

describe('idempotent boot', () => {
  it('a second boot with the same setup finds everything and writes nothing', async () => {
    const shared = database()
    const first = await boot(shared)
    const firstEvents = await systemEvents(first.engine, first.acme.id)
    await first.engine.close()

    const second = await boot(shared)
    expect(second.acme.id).toBe(first.acme.id)
    expect(second.system).toEqual(first.system)
    expect(await second.engine.accounts.list()).toHaveLength(1)
    expect(await systemEvents(second.engine, second.acme.id)).toEqual(firstEvents)
    expect(firstEvents).toEqual(['system.created'])
    await second.engine.close()
  })

  it('a boot with a changed setup updates only what changed, audited once', async () => {
    const shared = database()
    const first = await boot(shared)
    await first.engine.close()

    const second = await boot(shared, { lifetimeSeconds: 300, sensitivity: 'high' })
    expect(second.system.policies.passwordless).toMatchObject({ lifetimeSeconds: 300 })
    expect(second.system.sensitivity).toBe('high')
    expect(second.system.rulesVersion).toBe(1)
    expect(
      (await systemEvents(second.engine, second.acme.id)).filter((t) => t === 'system.updated'),
    ).toHaveLength(1)
    await second.engine.close()
  })

  it('applies an account’s settings on a later boot only where they differ', async () => {
    const { engine, acme } = await boot(database())
    expect((await acme.settings.get()).uniformResponses).toBe(true)
    await engine.accounts.ensure({ name: 'Acme', settings: { uniformResponses: false } })
    await engine.accounts.ensure({ name: 'Acme', settings: { uniformResponses: false } })
    expect((await acme.settings.get()).uniformResponses).toBe(false)
    const settingsEvents = (await acme.audit.list({ type: 'account.settings.updated' })).events
    expect(settingsEvents).toHaveLength(1)
    await engine.close()
  })
})
