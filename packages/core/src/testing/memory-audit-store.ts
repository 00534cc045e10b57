import type { AuditStore } from '../ports/storage.js'
import { appendAudit, listAudit, purgeAudit } from './memory-audit.js'
import type { MemoryStoreDeps } from './memory-tables.js'

// The in-memory AuditStore: each call one transaction over the chain that memory-audit.ts keeps.

/** The audit trail in memory: one HMAC chain per account. */
export function memoryAudit({ tables, slot, run }: MemoryStoreDeps): AuditStore {
  return {
    appendAudit: (drafts) => run('appendAudit', () => appendAudit(tables, slot, drafts)),
    listAudit: (query) => run('listAudit', () => listAudit(tables, query)),
    getAuditHead: (accountId) =>
      run('getAuditHead', () => {
        const head = tables.auditHeads.get(accountId)
        return head
          ? {
              seq: head.seq,
              mac: head.mac,
              anchorSeq: head.anchorSeq,
              anchorMac: head.anchorMac,
              headMac: head.headMac,
            }
          : null
      }),
    purgeAudit: (accountId, before, drafts) =>
      run('purgeAudit', () => purgeAudit(tables, slot, accountId, before, drafts)),
  }
}
