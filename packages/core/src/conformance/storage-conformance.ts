import { describe, expect, it } from 'vitest'
import { newId } from '../domain/secrets.js'
import { DEFAULT_SETTINGS } from '../policy/account-settings.js'
import { accountCases } from './accounts-conformance.js'
import { apiKeyCases } from './api-keys-conformance.js'
import { auditCases } from './audit-conformance.js'
import { loginCases } from './logins-conformance.js'
import { outboxCases } from './outbox-conformance.js'
import { raceCases } from './race-conformance.js'
import { freshStorage, type StorageConformanceOptions, storeSuite, T0 } from './storage-fixture.js'
import { systemCases } from './systems-conformance.js'
import { userCases } from './users-conformance.js'

export type { StorageConformanceOptions, StorageUnderTest, StoreName } from './storage-fixture.js'

/**
 * The contract every Storage adapter must keep, as a vitest suite, one `describe` per store. Run it
 * from your adapter's tests:
 *
 * ```ts
 * runStorageConformance({ name: 'my adapter', open: async () => ({ storage: myStorage() }) })
 * ```
 * With `shared`, the races also run across child processes each holding its own storage.
 *
 * Writing a new adapter, turn it green one store at a time with `stores`:
 * `runStorageConformance({ name, open, stores: ['accounts', 'apiKeys'] })` runs only those stores'
 * cases; the others are listed as skipped. A store's cases assert only what that store does, but seed
 * their data through the stores it builds on, in the order accounts → systems → users → logins →
 * outbox (apiKeys and audit need only accounts): those must work before it. A case that reads another
 * store to see what its own wrote (the audit trail a write left, most often) runs only when that store
 * is selected too, and is skipped with the reason in its name otherwise. The races need every store.
 */
export function runStorageConformance(options: StorageConformanceOptions): void {
  const suite = storeSuite(options)
  describe(`Storage conformance: ${options.name}`, () => {
    describe('schema', () => {
      const f = freshStorage(options, 'account')
      it('migrates twice without error', async () => {
        await expect(f.storage.migrate()).resolves.toBeUndefined()
      })
      const { openUnmigrated } = options
      if (openUnmigrated)
        it('says to migrate when written to before its migration', async () => {
          const { storage, cleanup } = await openUnmigrated()
          try {
            await expect(
              storage.accounts.insertAccount({
                id: newId(),
                name: 'Acme',
                settings: DEFAULT_SETTINGS,
                createdAt: T0,
              }),
            ).rejects.toThrow(/migrate/)
          } finally {
            await storage.close()
            await cleanup?.()
          }
        })
    })

    accountCases(suite)
    apiKeyCases(suite)
    systemCases(suite)
    userCases(suite)
    loginCases(suite)
    outboxCases(suite)
    auditCases(suite)
    raceCases(suite)
  })
}
