import type { AccountSettings } from '../domain/settings.js'
import type { AccountRow, ApiKeyRow, AuditDraft } from './rows.js'

/** Accounts and their settings. Each write takes its audit drafts into the same transaction. */
export interface AccountStore {
  insertAccount(row: AccountRow): Promise<void>
  getAccount(id: string): Promise<AccountRow | null>
  listAccounts(): Promise<AccountRow[]>
  /**
   * Changes an account's settings in one transaction: `change` gets the settings as stored, read under
   * the account row's write lock, so concurrent updates each build on the other's result instead of
   * overwriting it. What `change` throws rolls everything back. Null for an unknown account.
   */
  updateAccountSettings(
    id: string,
    change: (current: AccountSettings) => AccountSettings,
    audit: (next: AccountSettings) => readonly AuditDraft[],
  ): Promise<AccountSettings | null>
}

/** An account's API keys, found by the SHA-256 of the key. */
export interface ApiKeyStore {
  insertApiKey(row: ApiKeyRow, audit: readonly AuditDraft[]): Promise<void>
  listApiKeys(accountId: string): Promise<ApiKeyRow[]>
  getApiKeyBySha256(sha256: string): Promise<ApiKeyRow | null>
  /** Sets `revokedAt` once; false when the key is unknown in the account or already revoked. */
  revokeApiKey(accountId: string, id: string, at: number, audit: readonly AuditDraft[]): Promise<boolean>
  /** Records use at `at` only if the last recorded use is older than `minIntervalMs`: at most one write per interval. */
  touchApiKey(id: string, at: number, minIntervalMs: number): Promise<void>
}
