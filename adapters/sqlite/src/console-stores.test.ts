import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runConsoleStoreConformance } from '@flexsecure/core/conformance'
import { sqliteStorage } from './sqlite-storage.js'

runConsoleStoreConformance({
  name: 'sqlite file',
  open: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flexsecure-console-'))
    return {
      storage: sqliteStorage({ filename: join(dir, 'test.db') }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    }
  },
})
