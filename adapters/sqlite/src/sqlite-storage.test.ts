import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_SETTINGS } from '@flexsecure/core'
import { runStorageConformance } from '@flexsecure/core/conformance'
import { describe, expect, it } from 'vitest'
import { sqliteStorage } from './sqlite-storage.js'

runStorageConformance({
  name: 'sqlite :memory:',
  open: async () => ({ storage: sqliteStorage({ filename: ':memory:' }) }),
  noSharedDatabase: 'a :memory: database lives in one process (the file suite runs them)',
})

runStorageConformance({
  name: 'sqlite file',
  open: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flexsecure-sqlite-'))
    const filename = join(dir, 'test.db')
    return {
      storage: sqliteStorage({ filename }),
      shared: { module: new URL('../test/shared-sqlite.ts', import.meta.url).href, options: { filename } },
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    }
  },
})

describe('SQLite storage before its migration', () => {
  it('says to migrate when its tables are not there yet', async () => {
    const storage = sqliteStorage({ filename: ':memory:' })
    try {
      await expect(
        storage.accounts.insertAccount({ id: 'a1', name: 'Acme', settings: DEFAULT_SETTINGS, createdAt: 0 }),
      ).rejects.toThrow('call engine.migrate() first, or run `flexsecure migrate`')
    } finally {
      await storage.close()
    }
  })
})
