import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import type { AuditSealer, AuditVerdict } from '../ports/rows.js'
import type { Storage } from '../ports/storage.js'

// docs/security.md S27: each event's MAC is HMAC-SHA256(key, previous MAC ‖ the event's canonical bytes),
// with the key derived from the engine secret. The account's head (last seq and MAC) is stored apart,
// so an edit, a deleted middle event, a deleted tail and a chain recomputed without the key all show.

export type { AuditSealer, AuditVerdict, SealedHead } from '../ports/rows.js'

/** The audit key: HKDF-SHA256 of the engine secret, so the secret itself never keys anything directly. */
export function auditKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'flexsecure', 'audit-chain-v1', 32))
}

/**
 * JSON with object keys sorted at every depth, so the same event always yields the same bytes. Built by
 * concatenation rather than map and join: it runs for every audit event on the login path (5 a login).
 */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null)
  let out: string
  if (Array.isArray(value)) {
    out = '['
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonical(value[i])
    return `${out}]`
  }
  const keys = Object.keys(value).sort()
  out = '{'
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string
    out += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`
  }
  return `${out}}`
}

/** The sealer for an engine secret. */
export function auditSealer(secret: string): AuditSealer {
  const key = auditKey(secret)
  const event: AuditSealer['event'] = (previousMac, e) =>
    createHmac('sha256', key)
      .update(previousMac ?? '')
      .update('\n')
      .update(
        canonical([
          e.accountId,
          e.seq,
          e.at,
          e.type,
          e.actor,
          e.system,
          e.authid,
          e.challengeId,
          e.outcome,
          e.reason,
          e.ip,
          e.userAgent,
          e.details,
        ]),
      )
      .digest('hex')
  const head: AuditSealer['head'] = (h) =>
    createHmac('sha256', key)
      .update('head\n')
      .update(canonical([h.accountId, h.seq, h.mac, h.anchorSeq, h.anchorMac]))
      .digest('hex')
  return { event, head }
}

/**
 * Verifies with every key of a keyring (S33): after a rotation the chain holds events sealed under the old
 * secret, then under the new one. `event` and `head` return the first MAC that matches, else the primary's.
 */
function keyringSealer(secrets: readonly string[]): AuditSealer {
  const sealers = secrets.map(auditSealer)
  if (sealers.length === 1) return sealers[0] as AuditSealer
  const pick = (macs: string[], stored: string | null | undefined) =>
    macs.find((mac) => stored != null && sameMac(mac, stored)) ?? (macs[0] as string)
  // Verification passes the stored event (with its `mac`) and the stored head (with its `headMac`).
  return {
    event: (previousMac, e) =>
      pick(
        sealers.map((s) => s.event(previousMac, e)),
        (e as { mac?: string }).mac,
      ),
    head: (h) =>
      pick(
        sealers.map((s) => s.head(h)),
        (h as { headMac?: string | null }).headMac,
      ),
  }
}

const sameMac = (a: string | null, b: string | null) =>
  a !== null && b !== null && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))

/**
 * Walks an account's audit chain from its anchor to its head and names the first sequence number
 * that does not verify: an edited or re-keyed event, a gap, or a missing tail.
 */
export async function verifyAuditChain(
  storage: Storage,
  secrets: string | readonly string[],
  accountId: string,
): Promise<AuditVerdict> {
  const seal = keyringSealer(typeof secrets === 'string' ? [secrets] : secrets)
  const head = await storage.audit.getAuditHead(accountId)
  if (!head) return { ok: false, firstBadSeq: 0, problem: 'the account has no audit head' }
  let expectedSeq = head.anchorSeq + 1
  let previousMac = head.anchorMac
  let events = 0
  for (;;) {
    const page = await storage.audit.listAudit({ accountId, after: expectedSeq - 1, limit: 500 })
    for (const event of page) {
      if (event.seq !== expectedSeq)
        return { ok: false, firstBadSeq: expectedSeq, problem: `event ${expectedSeq} is missing` }
      if (event.prevMac !== previousMac)
        return { ok: false, firstBadSeq: event.seq, problem: 'it does not follow the previous event' }
      if (!sameMac(event.mac, seal.event(previousMac, event)))
        return { ok: false, firstBadSeq: event.seq, problem: 'its MAC does not match its content' }
      previousMac = event.mac
      expectedSeq += 1
      events += 1
    }
    if (page.length < 500) break
  }
  if (head.seq !== expectedSeq - 1)
    return {
      ok: false,
      firstBadSeq: expectedSeq,
      problem: `the head says ${head.seq} events, the trail ends at ${expectedSeq - 1}`,
    }
  if (head.seq > head.anchorSeq && !sameMac(head.mac, previousMac))
    return { ok: false, firstBadSeq: head.seq, problem: 'the head MAC does not match the last event' }
  // The head (end and anchor) carries its own MAC: a rewritten head, a moved anchor, or a trimmed tail
  // with a head made to match all fail here without the key.
  if (!sameMac(head.headMac, seal.head({ accountId, ...head })))
    return {
      ok: false,
      firstBadSeq: head.seq + 1,
      problem: 'the chain head was altered: events after it may be gone',
    }
  return { ok: true, events, lastSeq: head.seq }
}
