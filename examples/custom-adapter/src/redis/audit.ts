import {
  type AuditDraft,
  type AuditEvent,
  type AuditHead,
  type AuditSealer,
  type AuditStore,
  auditDraftsByAccount,
  StorageError,
  sealAuditDrafts,
} from '@flexsecure/core'
import type { RedisKeys } from './keys.js'
import type { Runner, Tx } from './transaction.js'

// The audit trail in Redis: per account, a head (a JSON row) and the sealed events (a sorted set by
// sequence number). Appending reads the head inside the transaction of the change it records,
// numbers and seals the drafts from it, and writes the events and the moved head in that change's
// MULTI. Two processes appending to one account both WATCH its head: one EXEC wins, the other runs
// again from the new head, so the chain never forks and sequence numbers never repeat.

/** An account's head as stored. */
export interface StoredHead extends AuditHead {
  readonly accountId: string
}

/** The sealer handed to `sealAuditWith`; appending before one is set is a StorageError. */
export interface SealerSlot {
  sealer: AuditSealer | null
}

export function requireSealer(slot: SealerSlot): AuditSealer {
  if (!slot.sealer)
    throw new StorageError('no audit sealer: create an engine on this storage before writing to it')
  return slot.sealer
}

/** Creates an account's empty chain: head at 0, sealed. */
export function openAuditChain(tx: Tx, keys: RedisKeys, slot: SealerSlot, accountId: string): void {
  const chain = { accountId, seq: 0, mac: null, anchorSeq: 0, anchorMac: null }
  tx.put(keys.auditHead(accountId), { ...chain, headMac: requireSealer(slot).head(chain) })
}

/** Appends drafts to their accounts' chains, in this transaction: per account in order of first appearance. */
export async function appendAudit(
  tx: Tx,
  keys: RedisKeys,
  slot: SealerSlot,
  drafts: readonly AuditDraft[],
): Promise<void> {
  if (drafts.length === 0) return
  const sealer = requireSealer(slot)
  const byAccount = auditDraftsByAccount(drafts)
  const accounts = [...byAccount.keys()]
  const heads = await tx.rows<StoredHead>(accounts.map((id) => keys.auditHead(id)))
  accounts.forEach((accountId, i) => {
    const head = heads[i]
    if (!head) throw new StorageError(`no audit trail for account ${accountId}`)
    // Core numbers and seals them from the head; this transaction stores what it returns.
    const sealed = sealAuditDrafts(sealer, head, byAccount.get(accountId) ?? [])
    tx.put(keys.auditHead(accountId), { accountId, ...sealed.head })
    tx.write((m) =>
      m
        .zadd(keys.auditEvents(accountId), ...sealed.events.flatMap((e) => [e.seq, JSON.stringify(e)]))
        .zadd(keys.auditTimes(accountId), ...sealed.events.flatMap((e) => [e.at, String(e.seq)])),
    )
  })
}

/** How many events `listAudit` reads per round trip while it filters. */
const PAGE = 200

/** The audit store. */
export function redisAudit(run: Runner, keys: RedisKeys, slot: SealerSlot): AuditStore {
  return {
    appendAudit: (drafts) => run.transact('appendAudit', (tx) => appendAudit(tx, keys, slot, drafts)),

    listAudit: (query) =>
      run.read('listAudit', async (redis) => {
        const found: AuditEvent[] = []
        let after = query.after ?? 0
        while (found.length < query.limit) {
          // By sequence number, after the last one read: a purge meanwhile cannot shift the pages.
          const page = (
            await redis.zrangebyscore(
              keys.auditEvents(query.accountId),
              `(${after}`,
              '+inf',
              'LIMIT',
              0,
              PAGE,
            )
          ).map((text) => JSON.parse(text) as AuditEvent)
          for (const event of page) if (found.length < query.limit && matches(event, query)) found.push(event)
          if (page.length < PAGE) break
          after = (page.at(-1) as AuditEvent).seq
        }
        return found
      }),

    getAuditHead: (accountId) =>
      run.read('getAuditHead', async (redis) => {
        const text = await redis.get(keys.auditHead(accountId))
        if (text === null) return null
        const { seq, mac, anchorSeq, anchorMac, headMac } = JSON.parse(text) as StoredHead
        return { seq, mac, anchorSeq, anchorMac, headMac }
      }),

    purgeAudit: (accountId, before, drafts) =>
      run.transact('purgeAudit', async (tx) => {
        const head = await tx.row<StoredHead>(keys.auditHead(accountId))
        if (!head) return 0
        // Every append moves the head, which is watched: these two reads are of the same chain.
        const older = await tx.redis.zrangebyscore(keys.auditTimes(accountId), '-inf', `(${before}`)
        const through = Math.max(0, ...older.map(Number))
        if (through <= head.anchorSeq) return 0
        // The chain's prefix through the last older event goes, even events in it stamped later.
        const gone = (await tx.redis.zrangebyscore(keys.auditEvents(accountId), '-inf', through)).map(
          (text) => JSON.parse(text) as AuditEvent,
        )
        const last = gone.find((event) => event.seq === through)
        if (!last) throw new StorageError(`audit event ${through} of account ${accountId} is missing`)
        tx.write((m) =>
          m
            .zremrangebyscore(keys.auditEvents(accountId), '-inf', through)
            .zrem(keys.auditTimes(accountId), ...gone.map((event) => String(event.seq))),
        )
        const chain = { accountId, seq: head.seq, mac: head.mac, anchorSeq: through, anchorMac: last.mac }
        tx.put(keys.auditHead(accountId), { ...chain, headMac: requireSealer(slot).head(chain) })
        // The purge's own record follows, sealed from the head just written.
        await appendAudit(tx, keys, slot, drafts)
        return gone.length
      }),
  }
}

/** Whether an event passes a query's filters on time, system, authid, type and outcome. */
function matches(event: AuditEvent, query: Parameters<AuditStore['listAudit']>[0]): boolean {
  return (
    (query.since === undefined || event.at >= query.since) &&
    (query.until === undefined || event.at < query.until) &&
    (query.system === undefined || event.system === query.system) &&
    (query.authid === undefined || event.authid === query.authid) &&
    (query.type === undefined || event.type === query.type) &&
    (query.outcome === undefined || event.outcome === query.outcome)
  )
}
