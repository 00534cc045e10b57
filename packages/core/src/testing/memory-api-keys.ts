import type { ApiKeyStore, AuditDraft } from '../ports/storage.js'
import { appendAudit } from './memory-audit.js'
import { apiKeyIn, out } from './memory-rows.js'
import { compareText, type MemoryStoreDeps, references, unique } from './memory-tables.js'

// The in-memory ApiKeyStore, with the semantics of the SQL storage's API keys
// (adapters/kysely/src/account-store.ts): id and SHA-256 unique, the account checked, one
// conditional write each to revoke and to record use.

/** An account's API keys in memory, found by the SHA-256 of the key. */
export function memoryApiKeys({ tables, slot, run }: MemoryStoreDeps): ApiKeyStore {
  const audit = (drafts: readonly AuditDraft[]) => appendAudit(tables, slot, drafts)

  return {
    insertApiKey: (row, drafts) =>
      run('insertApiKey', () => {
        unique(tables.apiKeys.has(row.id), 'fs_api_keys.id')
        unique(
          tables.apiKeys.values().some((key) => key.sha256 === row.sha256),
          'fs_api_keys.sha256',
        )
        references(tables.accounts.has(row.accountId), 'fs_api_keys.account_id')
        tables.apiKeys.set(row.id, apiKeyIn(row))
        audit(drafts)
      }),
    listApiKeys: (accountId) =>
      run('listApiKeys', () =>
        tables.apiKeys
          .values()
          .filter((key) => key.accountId === accountId)
          .sort((a, b) => a.createdAt - b.createdAt || compareText(a.id, b.id))
          .map(out),
      ),
    getApiKeyBySha256: (sha256) =>
      run('getApiKeyBySha256', () => {
        const row = tables.apiKeys.values().find((key) => key.sha256 === sha256)
        return row ? out(row) : null
      }),
    revokeApiKey: (accountId, id, at, drafts) =>
      run('revokeApiKey', () => {
        const row = tables.apiKeys.get(id)
        if (!row || row.accountId !== accountId || row.revokedAt !== null) return false
        tables.apiKeys.set(id, { ...row, revokedAt: at })
        audit(drafts)
        return true
      }),
    touchApiKey: (id, at, minIntervalMs) =>
      run('touchApiKey', () => {
        const row = tables.apiKeys.get(id)
        if (row && (row.lastUsedAt === null || row.lastUsedAt <= at - minIntervalMs))
          tables.apiKeys.set(id, { ...row, lastUsedAt: at })
      }),
  }
}
