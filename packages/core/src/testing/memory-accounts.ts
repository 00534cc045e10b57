import type { AccountStore, AuditDraft } from '../ports/storage.js'
import { appendAudit, openAuditChain } from './memory-audit.js'
import { accountIn, accountOut } from './memory-rows.js'
import { compareText, type MemoryStoreDeps, unique } from './memory-tables.js'

// The in-memory AccountStore, with the semantics of the SQL storage's accounts
// (adapters/kysely/src/account-store.ts): a taken id refused, and each account's audit chain opened
// with it.

/** Accounts and their settings in memory. */
export function memoryAccounts({ tables, slot, run }: MemoryStoreDeps): AccountStore {
  const audit = (drafts: readonly AuditDraft[]) => appendAudit(tables, slot, drafts)

  return {
    insertAccount: (row) =>
      run('insertAccount', () => {
        unique(tables.accounts.has(row.id), 'fs_accounts.id')
        tables.accounts.set(row.id, accountIn(row))
        openAuditChain(tables, slot, row.id)
      }),
    getAccount: (id) =>
      run('getAccount', () => {
        const row = tables.accounts.get(id)
        return row ? accountOut(row) : null
      }),
    listAccounts: () =>
      run('listAccounts', () =>
        tables.accounts
          .values()
          .sort((a, b) => compareText(a.id, b.id))
          .map(accountOut),
      ),
    updateAccountSettings: (id, change, auditOf) =>
      run('updateAccountSettings', () => {
        const row = tables.accounts.get(id)
        if (!row) return null
        const next = change(accountOut(row).settings)
        tables.accounts.set(id, accountIn({ ...row, settings: next }))
        audit(auditOf(next))
        return next
      }),
  }
}
