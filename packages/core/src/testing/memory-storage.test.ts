import { describe, expect, it } from 'vitest'
import { auditSealer } from '../audit/audit-chain.js'
import { runConsoleStoreConformance, runStorageConformance } from '../conformance/index.js'
import { DEFAULT_SETTINGS } from '../policy/account-settings.js'
import { resolvePolicies } from '../policy/system-policy.js'
import type { SystemRow, UserRow } from '../ports/rows.js'
import { memoryStorage } from './memory-storage.js'

// The in-memory storage keeps the whole Storage contract, its optional console stores included.

runStorageConformance({
  name: 'memory',
  open: async () => ({ storage: memoryStorage() }),
  noSharedDatabase: 'process memory cannot be shared with other processes (the in-process races run)',
})

runConsoleStoreConformance({
  name: 'memory',
  open: async () => ({ storage: memoryStorage() }),
})

describe('memoryStorage', () => {
  const T0 = Date.UTC(2026, 0, 1, 9)
  const opened = async () => {
    const storage = memoryStorage()
    storage.sealAuditWith(auditSealer('memory-storage-test-secret-memory-storage'))
    await storage.accounts.insertAccount({
      id: 'acc',
      name: 'Acme',
      settings: DEFAULT_SETTINGS,
      createdAt: T0,
    })
    const system: SystemRow = {
      id: 'sys',
      accountId: 'acc',
      name: 'payroll',
      policies: resolvePolicies({ passwordless: { enabled: true } }),
      returnUrl: null,
      messages: null,
      sensitivity: 'medium',
      rules: { version: 0, updatedAt: T0, updatedBy: 'admin', rules: [] },
      createdAt: T0,
      updatedAt: T0,
    }
    const user: UserRow = {
      id: 'usr',
      accountId: 'acc',
      authid: 'alice',
      displayName: null,
      email: 'alice@example.com',
      phone: null,
      locale: null,
      attributes: { level: 1 },
      memorizedPinHash: null,
      status: 'active',
      failureStreak: 0,
      retryAfter: null,
      createdAt: T0,
      updatedAt: T0,
    }
    return { storage, system, user }
  }

  it('copies rows in and out: changing what was written or read changes nothing stored', async () => {
    const { storage, system, user } = await opened()
    const written = structuredClone(user) as { -readonly [K in keyof UserRow]: UserRow[K] }
    await storage.systems.insertSystem(system, [])
    await storage.users.insertUser(written, [])
    written.email = 'mallory@example.com'
    ;(written.attributes as Record<string, unknown>).level = 9
    const read = (await storage.users.getUser('acc', 'alice')) as UserRow
    ;(read as { status: string }).status = 'disabled'
    ;(read.attributes as Record<string, unknown>).level = 7
    const policies = (await storage.systems.getSystem('acc', 'payroll'))?.policies as {
      passwordless: { enabled: boolean }
    }
    policies.passwordless.enabled = false
    expect(await storage.users.getUser('acc', 'alice')).toEqual(user)
    expect(await storage.systems.getSystem('acc', 'payroll')).toEqual(system)
    expect(storage.inspect().users).toEqual([user])
  })

  it('stores nothing of an extra field a caller passes along with a row', async () => {
    const { storage, system } = await opened()
    await storage.systems.insertSystem({ ...system, extra: 'x' } as SystemRow, [])
    expect(await storage.systems.getSystem('acc', 'payroll')).toEqual(system)
  })

  it('tampers with a table inside one transaction and shows it through the port', async () => {
    const { storage, system, user } = await opened()
    await storage.systems.insertSystem(system, [])
    await storage.users.insertUser(user, [])
    storage.tamper('users', (row) => ({ ...row, status: 'locked' }))
    expect((await storage.users.getUser('acc', 'alice'))?.status).toBe('locked')
    storage.tamper('users', () => null)
    expect(await storage.users.getUser('acc', 'alice')).toBeNull()
  })
})
