import type { AuditDraft, AuditEvent, AuditHead, AuditQuery } from './rows.js'

/**
 * The audit trail: one HMAC chain per account. A store numbers and seals drafts with core's
 * `sealAuditDrafts` while it holds the account's head (its row lock, or one writer), in the
 * transaction of the change they record.
 */
export interface AuditStore {
  appendAudit(audit: readonly AuditDraft[]): Promise<void>
  /** Events by ascending sequence number, filtered. */
  listAudit(query: AuditQuery): Promise<AuditEvent[]>
  getAuditHead(accountId: string): Promise<AuditHead | null>
  /**
   * Deletes the account's events older than `before` (a prefix of the chain), records the last
   * deleted one as the anchor, and appends `audit` (the purge's own record). Returns how many went.
   */
  purgeAudit(accountId: string, before: number, audit: readonly AuditDraft[]): Promise<number>
}
