import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runStorageConformance } from '@flexsecure/core/conformance'
import { sqliteStorage } from './sqlite-storage.js'

runStorageConformance({
  name: 'sqlite :memory:',
  open: async () => ({ storage: sqliteStorage({ filename: ':memory:' }) }),
  noSharedDatabase: 'a :memory: database lives in one process (the file suite runs them)',
  openUnmigrated: async () => ({ storage: sqliteStorage({ filename: ':memory:' }) }),
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
