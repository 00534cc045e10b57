import { ConflictError } from '../domain/errors.js'
import type { AuditDraft, SystemStore } from '../ports/storage.js'
import { appendAudit } from './memory-audit.js'
import { out, systemIn } from './memory-rows.js'
import { compareText, type MemoryStoreDeps, references, unique } from './memory-tables.js'

// The in-memory SystemStore, with the semantics of the SQL storage's systems
// (adapters/kysely/src/system-store.ts): a name unique in its account, the account checked, and an
// update that writes the same columns and refuses a stale read.

/** An account's systems and their policies in memory. */
export function memorySystems({ tables, slot, run }: MemoryStoreDeps): SystemStore {
  const audit = (drafts: readonly AuditDraft[]) => appendAudit(tables, slot, drafts)

  return {
    insertSystem: (row, drafts) =>
      run(
        'insertSystem',
        () => {
          unique(tables.systems.has(row.id), 'fs_systems.id')
          unique(
            tables.systems.values().some((s) => s.accountId === row.accountId && s.name === row.name),
            'fs_systems (account_id, name)',
          )
          references(tables.accounts.has(row.accountId), 'fs_systems.account_id')
          tables.systems.set(row.id, systemIn(row))
          audit(drafts)
        },
        'name',
      ),
    updateSystem: (row, drafts, expectedUpdatedAt) =>
      run('updateSystem', () => {
        const stored = tables.systems.get(row.id)
        if (!stored || (expectedUpdatedAt !== undefined && stored.updatedAt !== expectedUpdatedAt))
          throw new ConflictError('system', 'was changed by someone else meanwhile; read it again and retry')
        const next = systemIn(row)
        tables.systems.set(row.id, {
          ...stored,
          policies: next.policies,
          returnUrl: next.returnUrl,
          messages: next.messages,
          sensitivity: next.sensitivity,
          rules: next.rules,
          updatedAt: next.updatedAt,
        })
        audit(drafts)
      }),
    getSystem: (accountId, name) =>
      run('getSystem', () => {
        const row = tables.systems.values().find((s) => s.accountId === accountId && s.name === name)
        return row ? out(row) : null
      }),
    listSystems: (accountId) =>
      run('listSystems', () =>
        tables.systems
          .values()
          .filter((s) => s.accountId === accountId)
          .sort((a, b) => compareText(a.name, b.name))
          .map(out),
      ),
  }
}
