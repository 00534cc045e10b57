import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SqliteStorage } from '@flexsecure/sqlite'
import { expect, it } from 'vitest'
import { openStorage } from './server.js'

it('opens a SQLite database with its WAL checkpoints on a worker thread (issue 16)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-storage-'))
  const storage = openStorage(join(dir, 'flexsecure.db')) as SqliteStorage
  try {
    await storage.migrate()
    expect((await storage.walCheckpointer?.now())?.busy).toBe(false)
  } finally {
    await storage.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
