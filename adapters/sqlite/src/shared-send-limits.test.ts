import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEngine } from '@flexsecure/core'
import { captureNotifier, cheapHasher, manualClock } from '@flexsecure/core/testing'
import { describe, expect, it } from 'vitest'
import { TEST_SECRET } from '../test/engine-fixture.js'
import { sqliteStorage } from './sqlite-storage.js'

// docs/security.md S18: send limits are counted in the database, so engines (processes) that share
// one database file share them too. Moved here from core's login-guards.test.ts: it needs a file.

const login = { system: 'payroll', authid: 'alice' }

describe('send limits (S18) on SQLite', () => {
  it('holds across two engines sharing one database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flexsecure-limits-'))
    const filename = join(dir, 'shared.db')
    const clock = manualClock()
    const open = () =>
      createEngine({
        storage: sqliteStorage({ filename }),
        notifier: captureNotifier(),
        secret: TEST_SECRET,
        links: { baseUrl: 'https://auth.example.com' },
        clock,
        hasher: cheapHasher(),
      })
    const [a, b] = [open(), open()]
    try {
      await a.migrate()
      const { id } = await a.accounts.create({
        name: 'Shared',
        settings: { sendLimits: { perUserPerHour: 3, resendCooldownSeconds: 0 } },
      })
      await a.account(id).systems.create({ name: 'payroll', policies: { passwordless: { enabled: true } } })
      await a.account(id).users.create({ authid: 'alice', email: 'alice@example.com' })
      await a.account(id).users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
      const results = []
      for (const engine of [a, b, a, b]) results.push((await engine.account(id).start(login)).result)
      expect(results).toEqual(['success', 'success', 'success', 'rate limited'])
    } finally {
      await a.close()
      await b.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
