import { NotFoundError, ValidationError } from '../domain/errors.js'
import type { Account } from '../domain/model.js'
import { newId } from '../domain/secrets.js'
import {
  type AccountSettings,
  type AccountSettingsInput,
  DEFAULT_SETTINGS,
} from '../policy/account-settings.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { AccountRow, AuditDraft } from '../ports/storage.js'

/** Merges a settings change over stored settings within the operator's ceilings (`settingsSettler`). */
export type Settle = (input: AccountSettingsInput | undefined, base: AccountSettings) => AccountSettings

/** The engine's accounts: create, read, list. */
export interface AccountsAdmin {
  create(input: { readonly name: string; readonly settings?: AccountSettingsInput }): Promise<Account>
  get(id: string): Promise<Account | null>
  list(): Promise<Account[]>
}

const toAccount = (row: AccountRow): Account => ({
  id: row.id,
  name: row.name,
  createdAt: new Date(row.createdAt),
})

/** Accounts over the engine's storage; new ones start from `DEFAULT_SETTINGS` with `settings` merged in. */
export function accountsAdmin(ctx: EngineContext, settle: Settle): AccountsAdmin {
  const { storage, clock } = ctx
  return {
    async create(input) {
      const name = typeof input?.name === 'string' ? input.name.normalize('NFKC').trim() : ''
      if (name.length === 0 || name.length > 200)
        throw new ValidationError('name', 'must be 1 to 200 characters')
      const row = {
        id: newId(),
        name,
        settings: settle(input.settings, DEFAULT_SETTINGS),
        createdAt: clock.now(),
      }
      await storage.accounts.insertAccount(row)
      return toAccount(row)
    },
    async get(id) {
      const row = await storage.accounts.getAccount(id)
      return row ? toAccount(row) : null
    },
    list: async () => (await storage.accounts.listAccounts()).map(toAccount),
  }
}

/** One account's settings, as its handle shows them. */
export interface SettingsAdmin {
  get(): Promise<AccountSettings>
  /** Merges over the current settings; audited. */
  update(input: AccountSettingsInput): Promise<AccountSettings>
}

/** The settings of account `id`: read within the ceilings, changed by one audited write. */
export function settingsAdmin(
  ctx: EngineContext,
  id: string,
  settle: Settle,
  audit: (changed: AccountSettings) => AuditDraft,
  afterChange: () => Promise<void>,
): SettingsAdmin {
  const { storage } = ctx
  return {
    async get() {
      const row = await storage.accounts.getAccount(id)
      if (!row) throw new NotFoundError('account', id)
      return ctx.effective(row.settings)
    },
    async update(input) {
      // Merged with the stored settings inside the write, so two updates of different fields both stay.
      const next = await storage.accounts.updateAccountSettings(
        id,
        (current) => settle(input, current),
        (changed) => [audit(changed)],
      )
      if (!next) throw new NotFoundError('account', id)
      await afterChange()
      return ctx.effective(next)
    },
  }
}

/**
 * A check, made once per handle, that account `id` exists: admin writes call it first, so they fail
 * with `NotFoundError` rather than a storage error. A missing account is asked again next time.
 */
export function accountExists(ctx: EngineContext, id: string): () => Promise<void> {
  let known: Promise<void> | undefined
  return () => {
    known ??= ctx.storage.accounts.getAccount(id).then((row) => {
      if (!row) {
        known = undefined
        throw new NotFoundError('account', id)
      }
    })
    return known
  }
}
