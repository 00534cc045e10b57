import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Storage } from '@flexsecure/core'
import { raceLinkConfirms, racePinChecks, type SharedDatabase } from '@flexsecure/core/conformance'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sqliteStorage } from '../src/index.js'

// The meta-test: the conformance races must be able to fail. Run against a storage that reads, then
// writes in a second statement, each one must see the very violation the conformance suite forbids.

describe('the conformance races against a deliberately racy storage', () => {
  let dir: string
  let storage: Storage
  let shared: SharedDatabase

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flexsecure-racy-'))
    const filename = join(dir, 'racy.db')
    storage = sqliteStorage({ filename })
    await storage.migrate()
    shared = { module: new URL('./racy-storage.ts', import.meta.url).href, options: { filename } }
  })

  afterEach(async () => {
    await storage.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('catches more than one confirm of one link succeeding', async () => {
    const { results } = await raceLinkConfirms({ storage, shared })
    expect(results.filter((r) => r === 'confirmed').length).toBeGreaterThan(1)
  }, 60_000)

  it('catches more than one correct PIN check authenticating', async () => {
    const { results } = await racePinChecks({ storage, shared, correct: true })
    expect(results.filter((r) => r === 'authenticated').length).toBeGreaterThan(1)
  }, 60_000)

  it('catches more wrong PINs being verified than the attempt limit', async () => {
    const { verifications } = await racePinChecks({ storage, shared, correct: false })
    expect(verifications).toBeGreaterThan(5)
  }, 60_000)
})
