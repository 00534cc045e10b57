import type { AuditDraft, AuditEvent, AuditHead, AuditQuery } from './rows.js'

/**
 * The audit trail: one HMAC chain per account. A store numbers and seals drafts with core's
 * `sealAuditDrafts` while it holds the account's head (its row lock, or one writer), in the
 * transaction of the change they record.
 */
export interface AuditStore {
  /**
   * `durability` `deferred`: the drafts record what precedes no message to a provider (a check's answer),
   * so a storage that can may answer at their commit and put them on the disk with its next sync, as it
   * does a challenge's moves (docs/decisions.md, "Deferred sync"). By default they are on the disk first.
   */
  appendAudit(audit: readonly AuditDraft[], durability?: 'deferred'): Promise<void>
  /** Events by ascending sequence number, filtered. */
  listAudit(query: AuditQuery): Promise<AuditEvent[]>
  getAuditHead(accountId: string): Promise<AuditHead | null>
  /**
   * Deletes the account's events older than `before` (a prefix of the chain), records the last
   * deleted one as the anchor, and appends `audit` (the purge's own record). Returns how many went.
   */
  purgeAudit(accountId: string, before: number, audit: readonly AuditDraft[]): Promise<number>
}
