import { afterEach, beforeAll, describe } from 'vitest'
import type { User } from '../domain/model.js'
import type { Engine } from '../engine.js'
import { createEngine } from '../engine.js'
import type { Message, Notifier } from '../ports/notifier.js'
import { captureNotifier } from '../testing/capture-notifier.js'
import { cheapHasher } from '../testing/cheap-hasher.js'
import { manualClock } from '../testing/manual-clock.js'
import { adminQueryCases } from './admin-query-conformance.js'
import { consoleSessionCases } from './console-session-conformance.js'
import type { ConsoleWorld } from './console-world.js'
import type { StorageUnderTest } from './storage-fixture.js'

export type { ConsoleWorld } from './console-world.js'

/** How `runConsoleStoreConformance` opens the storage under test. */
export interface ConsoleStoreConformanceOptions {
  readonly name: string
  /** Opens a storage on a fresh, empty database; called before every test. */
  open(): Promise<StorageUnderTest>
}

/**
 * The contract of a storage's optional console stores (`consoleSessions`, `adminQueries`), as a
 * vitest suite. Each test drives a real engine on the storage, so rows are what the engine writes.
 *
 * ```ts
 * runConsoleStoreConformance({ name: 'my adapter', open: async () => ({ storage: myStorage() }) })
 * ```
 */
export function runConsoleStoreConformance(options: ConsoleStoreConformanceOptions): void {
  describe(`Console store conformance: ${options.name}`, () => {
    let opened: { under: StorageUnderTest; engine: Engine; releases: (() => void)[] } | null = null
    // Migrate once up front, with time for a server's DDL (MySQL rebuilds each table in 0007), so the
    // first test's time is its own; where a database outlives `open`, each test then finds it current.
    beforeAll(async () => {
      const under = await options.open()
      try {
        await under.storage.migrate()
      } finally {
        await under.storage.close()
        await under.cleanup?.()
      }
    }, 60_000)
    afterEach(async () => {
      if (!opened) return
      for (const release of opened.releases) release()
      await opened.engine.close()
      await opened.under.cleanup?.()
      opened = null
    })

    const world = async (): Promise<ConsoleWorld> => {
      const under = await options.open()
      const clock = manualClock()
      const notifier = captureNotifier()
      const releases: (() => void)[] = []
      let hold: Promise<void> | null = null
      const gated: Notifier = {
        async send(message: Message) {
          const waiting = hold
          hold = null
          if (waiting) await waiting
          return notifier.send(message)
        },
      }
      const engine = createEngine({
        storage: under.storage,
        notifier: gated,
        clock,
        secret: 'console-conformance-secret-console-conformance',
        links: { baseUrl: 'https://auth.example.com' },
        hasher: cheapHasher(),
        logger: { warn: () => {}, error: () => {} },
      })
      opened = { under, engine, releases }
      await engine.migrate()
      const settings = { sendLimits: { resendCooldownSeconds: 0 } }
      const accountId = (await engine.accounts.create({ name: 'Acme', settings })).id
      const otherAccountId = (await engine.accounts.create({ name: 'Other', settings })).id
      const account = engine.account(accountId)
      await account.console.grant({ authid: 'admin@example.com', email: 'admin@example.com', role: 'admin' })
      const admin = (await account.users.get('admin@example.com')) as User
      const other = await account.users.create({ authid: 'bob', email: 'bob@example.com' })
      return {
        storage: under.storage,
        engine,
        clock,
        notifier,
        holdNextSend() {
          let release = () => {}
          hold = new Promise<void>((resolve) => {
            release = resolve
          })
          releases.push(release)
          return release
        },
        accountId,
        account,
        otherAccountId,
        otherAccount: engine.account(otherAccountId),
        admin,
        other,
      }
    }

    consoleSessionCases(world)
    adminQueryCases(world)
  })
}
