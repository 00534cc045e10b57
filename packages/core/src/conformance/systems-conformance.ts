import { expect, it } from 'vitest'
import { ConflictError } from '../domain/errors.js'
import { newId } from '../domain/secrets.js'
import { resolvePolicies } from '../policy/system-policy.js'
import { draft, freshStorage, insertAccount, type StoreSuite, T0 } from './storage-fixture.js'

/** The SystemStore contract: an account's systems and their policies. Seeds the account and `payroll`. */
export function systemCases(suite: StoreSuite): void {
  suite.describeStore('systems', () => {
    const f = freshStorage(suite.options, 'system')

    it('reads back a system with its policies, and lists systems by name', async () => {
      expect(await f.storage.systems.getSystem(f.accountId, 'payroll')).toEqual(f.system)
      await f.storage.systems.insertSystem({ ...f.system, id: newId(), name: 'crm' }, [])
      expect((await f.storage.systems.listSystems(f.accountId)).map((s) => s.name)).toEqual([
        'crm',
        'payroll',
      ])
    })

    it('refuses a second system of the same name in an account with ConflictError', async () => {
      await expect(f.storage.systems.insertSystem({ ...f.system, id: newId() }, [])).rejects.toBeInstanceOf(
        ConflictError,
      )
    })

    it('allows the same system name in another account', async () => {
      const other = await insertAccount(f.storage)
      await f.storage.systems.insertSystem({ ...f.system, id: newId(), accountId: other }, [])
      expect((await f.storage.systems.getSystem(other, 'payroll'))?.accountId).toBe(other)
    })

    it('updates a system’s policies and return URL', async () => {
      const policies = resolvePolicies({ pin: { pinLength: 10 } }, f.system.policies)
      const returnUrl = 'https://app.example.com/signed-in'
      await f.storage.systems.updateSystem({ ...f.system, policies, returnUrl, updatedAt: T0 + 1 }, [])
      expect(await f.storage.systems.getSystem(f.accountId, 'payroll')).toEqual({
        ...f.system,
        policies,
        returnUrl,
        updatedAt: T0 + 1,
      })
    })

    suite.itReading(
      ['audit'],
      'refuses a system update made from a stale read, so no concurrent change is lost',
      async () => {
        const first = { ...f.system, sensitivity: 'low' as const, updatedAt: T0 + 1 }
        await f.storage.systems.updateSystem(first, [], T0)
        const stale = { ...f.system, rules: { ...f.system.rules, version: 2, rules: [] }, updatedAt: T0 + 2 }
        await expect(
          f.storage.systems.updateSystem(stale, [draft(f.accountId, 'system.updated')], T0),
        ).rejects.toBeInstanceOf(ConflictError)
        expect(await f.storage.systems.getSystem(f.accountId, 'payroll')).toEqual(first)
        expect(await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })).toEqual([])
      },
    )

    it('reads back a system’s sensitivity and rules', async () => {
      expect(await f.storage.systems.getSystem(f.accountId, 'payroll')).toEqual(f.system)
    })
  })
}
