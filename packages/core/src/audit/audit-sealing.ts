import type { AuditDraft, AuditEvent, AuditHead, AuditSealer, SealedHead } from '../ports/rows.js'

// How drafts join an account's chain (S27), in one place for every storage: the next sequence
// numbers, each event sealed over the previous MAC, and the head sealed over where the chain now ends
// and where it starts. Pure: a storage calls it while it holds the account's head (a row lock, or its
// only writer) and stores what it returns in the same transaction.

/** Drafts sealed onto a chain: the events to store, and the head to store with them. */
export interface SealedAudit {
  readonly events: readonly AuditEvent[]
  readonly head: AuditHead
}

/**
 * Seals one account's drafts onto its chain, whose current head is `head`. Each event is sealed over
 * exactly what a storage stores and reads back: its details as they read back from their JSON text.
 * With no drafts the head comes back as it was, sealed.
 */
export function sealAuditDrafts(
  sealer: AuditSealer,
  head: SealedHead,
  drafts: readonly AuditDraft[],
): SealedAudit {
  const { events, head: chained } = chainAuditDrafts(sealer, head, drafts)
  const { seq, mac, anchorSeq, anchorMac } = chained
  return { events, head: { seq, mac, anchorSeq, anchorMac, headMac: sealer.head(chained) } }
}

/**
 * `sealAuditDrafts` without the head's own MAC: for a storage that appends several times before it
 * writes the head once (the SQL storage under group commit), and seals the head then with
 * `sealer.head`.
 */
export function chainAuditDrafts(
  sealer: AuditSealer,
  head: SealedHead,
  drafts: readonly AuditDraft[],
): { readonly events: readonly AuditEvent[]; readonly head: SealedHead } {
  const { accountId, anchorSeq, anchorMac } = head
  let seq = head.seq
  let previous = head.mac
  const events: AuditEvent[] = []
  for (const draft of drafts) {
    if (draft.accountId !== accountId)
      throw new TypeError(`an audit draft of account ${draft.accountId} sealed onto ${accountId}'s chain`)
    seq += 1
    const details = draft.details === null ? null : JSON.parse(JSON.stringify(draft.details))
    // One object, its MAC filled in once computed over the other fields (the sealer reads only those).
    const event: { -readonly [K in keyof AuditEvent]: AuditEvent[K] } = {
      accountId,
      seq,
      at: draft.at,
      type: draft.type,
      actor: draft.actor,
      system: draft.system,
      authid: draft.authid,
      challengeId: draft.challengeId,
      outcome: draft.outcome,
      reason: draft.reason,
      ip: draft.ip,
      userAgent: draft.userAgent,
      details,
      prevMac: previous,
      mac: '',
    }
    event.mac = sealer.event(previous, event)
    events.push(event)
    previous = event.mac
  }
  return { events, head: { accountId, seq, mac: previous, anchorSeq, anchorMac } }
}

/** Drafts by account, accounts in the order they first appear: each account's chain moves once. */
export function auditDraftsByAccount(drafts: readonly AuditDraft[]): Map<string, AuditDraft[]> {
  const byAccount = new Map<string, AuditDraft[]>()
  for (const draft of drafts) {
    const list = byAccount.get(draft.accountId)
    if (list) list.push(draft)
    else byAccount.set(draft.accountId, [draft])
  }
  return byAccount
}
