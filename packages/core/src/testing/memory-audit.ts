import { auditDraftsByAccount, sealAuditDrafts } from '../audit/audit-sealing.js'
import { StorageError } from '../domain/errors.js'
import type { AuditDraft, AuditEvent, AuditQuery, AuditSealer } from '../ports/rows.js'
import type { MemoryTables, SealerSlot } from './memory-tables.js'

// The audit chain of the in-memory storage, under the rules the SQL storage keeps
// (adapters/kysely/src/audit-store.ts): one head per account, advanced by every append; events and
// head sealed by core's `sealAuditDrafts`, as there; a purge moves the anchor, never backwards.
// Callers run these inside the storage's transaction.

export function requireSealer(slot: SealerSlot): AuditSealer {
  if (!slot.sealer)
    throw new StorageError('no audit sealer: create an engine on this storage before writing to it')
  return slot.sealer
}

/** Creates an account's empty chain: head at 0, sealed. */
export function openAuditChain(tables: MemoryTables, slot: SealerSlot, accountId: string): void {
  const headMac = requireSealer(slot).head({ accountId, seq: 0, mac: null, anchorSeq: 0, anchorMac: null })
  tables.auditHeads.set(accountId, { accountId, seq: 0, mac: null, anchorSeq: 0, anchorMac: null, headMac })
  tables.auditEvents.set(accountId, [])
}

/** Appends drafts to their accounts' chains: per account in order of first appearance, sealed by core. */
export function appendAudit(tables: MemoryTables, slot: SealerSlot, drafts: readonly AuditDraft[]): void {
  if (drafts.length === 0) return
  const sealer = requireSealer(slot)
  for (const [accountId, list] of auditDraftsByAccount(drafts)) {
    const head = tables.auditHeads.get(accountId)
    if (!head) throw new StorageError(`no audit trail for account ${accountId}`)
    const sealed = sealAuditDrafts(sealer, head, list)
    tables.auditEvents.set(accountId, [...(tables.auditEvents.get(accountId) ?? []), ...sealed.events])
    tables.auditHeads.set(accountId, { accountId, ...sealed.head })
  }
}

/**
 * Deletes the account's events up to the last one older than `before`, moves the anchor there (never
 * backwards) and appends `audit`; returns how many went.
 */
export function purgeAudit(
  tables: MemoryTables,
  slot: SealerSlot,
  accountId: string,
  before: number,
  audit: readonly AuditDraft[],
): number {
  const sealer = requireSealer(slot)
  const head = tables.auditHeads.get(accountId)
  if (!head) return 0
  const events = tables.auditEvents.get(accountId) ?? []
  let last: AuditEvent | undefined
  for (const event of events) if (event.at < before && (!last || event.seq > last.seq)) last = event
  if (!last || last.seq <= head.anchorSeq) return 0
  const through = last.seq
  const kept = events.filter((event) => event.seq > through)
  tables.auditEvents.set(accountId, kept)
  const anchor = { anchorSeq: through, anchorMac: last.mac }
  const headMac = sealer.head({ accountId, seq: head.seq, mac: head.mac, ...anchor })
  tables.auditHeads.set(accountId, { ...head, ...anchor, headMac })
  appendAudit(tables, slot, audit)
  return events.length - kept.length
}

/** Whether an event passes a query's filters on time, system, authid, type and outcome. */
export function auditMatches(event: AuditEvent, query: Omit<AuditQuery, 'limit' | 'after'>): boolean {
  return (
    (query.since === undefined || event.at >= query.since) &&
    (query.until === undefined || event.at < query.until) &&
    (query.system === undefined || event.system === query.system) &&
    (query.authid === undefined || event.authid === query.authid) &&
    (query.type === undefined || event.type === query.type) &&
    (query.outcome === undefined || event.outcome === query.outcome)
  )
}

/** Events by ascending sequence number after `after`, filtered, at most `limit`. */
export function listAudit(tables: MemoryTables, query: AuditQuery): AuditEvent[] {
  const after = query.after ?? 0
  const found: AuditEvent[] = []
  for (const event of tables.auditEvents.get(query.accountId) ?? []) {
    if (found.length >= query.limit) break
    if (event.seq > after && auditMatches(event, query)) found.push(structuredClone(event))
  }
  return found
}
