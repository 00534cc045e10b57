import { expect, it } from 'vitest'
import { StorageError, ValidationError } from '../domain/errors.js'
import { newId } from '../domain/secrets.js'
import { DEFAULT_SETTINGS, resolveSettings } from '../policy/account-settings.js'
import { draft, freshStorage, type StoreSuite, T0 } from './storage-fixture.js'

/** The AccountStore contract: accounts and their settings. Seeds nothing but the account. */
export function accountCases(suite: StoreSuite): void {
  suite.describeStore('accounts', () => {
    const f = freshStorage(suite.options, 'account')

    it('reads back an account, and null for an unknown one', async () => {
      expect(await f.storage.accounts.getAccount(f.accountId)).toEqual({
        id: f.accountId,
        name: 'Acme',
        settings: DEFAULT_SETTINGS,
        createdAt: T0,
      })
      expect(await f.storage.accounts.getAccount('nope')).toBeNull()
    })

    it('lists accounts and updates an account’s settings', async () => {
      const settings = resolveSettings({ uniformResponses: true, sendLimits: { perUserPerHour: 9 } })
      expect(
        await f.storage.accounts.updateAccountSettings(
          f.accountId,
          () => settings,
          () => [draft(f.accountId, 'account.settings.updated')],
        ),
      ).toEqual(settings)
      expect((await f.storage.accounts.getAccount(f.accountId))?.settings).toEqual(settings)
      expect((await f.storage.accounts.listAccounts()).map((a) => a.id)).toContain(f.accountId)
      expect(
        await f.storage.accounts.updateAccountSettings(
          newId(),
          () => settings,
          () => [],
        ),
      ).toBeNull()
    })

    it('serializes settings changes: each one builds on the last, none is lost', async () => {
      // Each change adds one to a limit: 20 concurrent ones that read before writing would lose some.
      await Promise.all(
        Array.from({ length: 20 }, () =>
          f.storage.accounts.updateAccountSettings(
            f.accountId,
            (current) =>
              resolveSettings(
                { sendLimits: { perUserPerHour: current.sendLimits.perUserPerHour + 1 } },
                current,
              ),
            () => [draft(f.accountId, 'account.settings.updated')],
          ),
        ),
      )
      const start = DEFAULT_SETTINGS.sendLimits.perUserPerHour
      expect((await f.storage.accounts.getAccount(f.accountId))?.settings.sendLimits.perUserPerHour).toBe(
        start + 20,
      )
    })

    suite.itReading(['audit'], 'changes nothing when the change throws', async () => {
      const before = (await f.storage.accounts.getAccount(f.accountId))?.settings
      await expect(
        f.storage.accounts.updateAccountSettings(
          f.accountId,
          () => {
            throw new ValidationError('sendLimits', 'no')
          },
          () => [draft(f.accountId, 'account.settings.updated')],
        ),
      ).rejects.toBeInstanceOf(ValidationError)
      expect((await f.storage.accounts.getAccount(f.accountId))?.settings).toEqual(before)
      expect(await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })).toEqual([])
    })

    it('surfaces a failure of the backend as StorageError', async () => {
      await f.storage.close()
      await expect(f.storage.accounts.getAccount(f.accountId)).rejects.toBeInstanceOf(StorageError)
    })
  })
}
