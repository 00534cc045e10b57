import { describe, expect, it } from 'vitest'
import type { Storage } from '../ports/storage.js'
import { memoryStorage } from '../testing/memory-storage.js'
import { runStorageConformance, type StoreName } from './index.js'
import { storeSuite } from './storage-fixture.js'

// An adapter author's first step: a storage whose accounts and API keys work, and whose other stores
// are not built yet, passes the suite run for those two stores. Were `stores` ignored, or did the
// seeding reach a store these cases do not need, the unbuilt stores would throw and fail it.

/** A store whose every method throws, as one not written yet. */
function unbuilt<T extends object>(store: StoreName): T {
  return new Proxy({} as T, {
    get: (_, method) => () => {
      throw new Error(`${store}.${String(method)} is not built yet`)
    },
  })
}

/** The in-memory storage with only `built` stores working, and none of the optional ones. */
function partlyBuilt(built: readonly StoreName[]): Storage {
  const full = memoryStorage()
  const pick = <K extends StoreName>(store: K): Storage[K] =>
    built.includes(store) ? full[store] : unbuilt<Storage[K]>(store)
  return {
    migrate: () => full.migrate(),
    close: () => full.close(),
    sealAuditWith: (sealer) => full.sealAuditWith(sealer),
    accounts: pick('accounts'),
    apiKeys: pick('apiKeys'),
    systems: pick('systems'),
    users: pick('users'),
    logins: pick('logins'),
    outbox: pick('outbox'),
    audit: pick('audit'),
  }
}

runStorageConformance({
  name: 'memory, accounts and apiKeys built',
  open: async () => ({ storage: partlyBuilt(['accounts', 'apiKeys']) }),
  stores: ['accounts', 'apiKeys'],
})

describe('runStorageConformance stores', () => {
  it('refuses a store name it does not know, so a typo cannot pass by running nothing', () => {
    const options = {
      name: 'typo',
      open: async () => ({ storage: memoryStorage() }),
      stores: ['acounts' as StoreName],
    }
    expect(() => storeSuite(options)).toThrow(/unknown store 'acounts'/)
  })

  it('selects every store by default, and only the named ones otherwise', () => {
    const open = async () => ({ storage: memoryStorage() })
    expect(storeSuite({ name: 'all', open }).all).toBe(true)
    const some = storeSuite({ name: 'some', open, stores: ['accounts', 'apiKeys'] })
    expect([some.all, some.selected('accounts'), some.selected('apiKeys'), some.selected('audit')]).toEqual([
      false,
      true,
      true,
      false,
    ])
  })
})
