import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import type { AuditVerdict } from '../ports/rows.js'
import type { Storage } from '../ports/storage.js'

// docs/security.md S34. The chain's head lives in the database, so someone who can write the database can
// save the head row, act (create a key), delete the events after the saved sequence and write the head
// back: the chain then verifies. A checkpoint is the head (sequence, MAC, time) signed with a key derived
// from the engine secret and kept where the database cannot rewrite it; verification compares the trail
// with the latest one, so a trail that ends before it, or differs at its sequence, is reported.

/** An account's chain head as it stood at `at`, signed. */
export interface AuditCheckpoint {
  readonly accountId: string
  readonly seq: number
  readonly mac: string | null
  readonly at: number
  /** `cp1.` + HMAC-SHA256 over the fields above, under a key derived from the engine secret. */
  readonly signature: string
}

/**
 * Where checkpoints go: outside the database (a file, a log, a webhook). `latest` answers the newest
 * checkpoint written for the account, or null. The server's is a directory of files; tests use memory.
 */
export interface CheckpointStore {
  write(checkpoint: AuditCheckpoint): Promise<void>
  latest(accountId: string): Promise<AuditCheckpoint | null>
}

function checkpointKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'flexsecure', 'audit-checkpoint-v1', 32))
}

function signWith(key: Buffer, c: Omit<AuditCheckpoint, 'signature'>): string {
  const text = JSON.stringify([c.accountId, c.seq, c.mac, c.at])
  return `cp1.${createHmac('sha256', key).update(text).digest('hex')}`
}

/** Signs and verifies checkpoints with a keyring: the first secret signs, any verifies (S33). */
export function checkpointSigner(keyring: readonly string[]) {
  const keys = keyring.map(checkpointKey)
  return {
    sign(c: Omit<AuditCheckpoint, 'signature'>): AuditCheckpoint {
      return { ...c, signature: signWith(keys[0] as Buffer, c) }
    },
    verify(c: AuditCheckpoint): boolean {
      if (typeof c?.signature !== 'string') return false
      const given = Buffer.from(c.signature)
      return keys.some((key) => {
        const expected = Buffer.from(signWith(key, c))
        return expected.length === given.length && timingSafeEqual(expected, given)
      })
    },
  }
}

/**
 * Compares a verified chain with the latest checkpoint: the trail must reach the checkpoint's sequence,
 * and the event there must carry the checkpoint's MAC. A verdict that is already a failure is kept.
 */
export async function checkAgainstCheckpoint(
  storage: Storage,
  verdict: AuditVerdict,
  checkpoint: AuditCheckpoint | null,
  signer: ReturnType<typeof checkpointSigner>,
): Promise<AuditVerdict> {
  if (!verdict.ok || checkpoint === null) return verdict
  const when = new Date(checkpoint.at).toISOString()
  if (!signer.verify(checkpoint))
    return {
      ok: false,
      firstBadSeq: checkpoint.seq,
      problem: `the latest checkpoint (${when}) does not carry a valid signature`,
    }
  if (verdict.lastSeq < checkpoint.seq)
    return {
      ok: false,
      firstBadSeq: verdict.lastSeq + 1,
      problem: `the trail ends at #${verdict.lastSeq} but the checkpoint of ${when} saw #${checkpoint.seq}: events after #${verdict.lastSeq} were deleted (a truncated tail, or a replayed or restored head)`,
    }
  if (checkpoint.seq === 0) return verdict
  const [event] = await storage.audit.listAudit({
    accountId: checkpoint.accountId,
    after: checkpoint.seq - 1,
    limit: 1,
  })
  // Purged since the checkpoint: the anchor carries on from it, and the chain verified from the anchor.
  if (!event || event.seq !== checkpoint.seq) return verdict
  if (event.mac !== checkpoint.mac)
    return {
      ok: false,
      firstBadSeq: checkpoint.seq,
      problem: `event #${checkpoint.seq} is not the one the checkpoint of ${when} saw: the trail was rewritten from there`,
    }
  return verdict
}

/** Checkpoints in memory, for tests and single-process embedding. */
export function memoryCheckpoints(): CheckpointStore & { readonly written: AuditCheckpoint[] } {
  const written: AuditCheckpoint[] = []
  return {
    written,
    async write(checkpoint) {
      written.push(checkpoint)
    },
    async latest(accountId) {
      const mine = written.filter((c) => c.accountId === accountId)
      return mine.reduce<AuditCheckpoint | null>((best, c) => (best && best.seq >= c.seq ? best : c), null)
    },
  }
}

/**
 * Writes an account's checkpoint when its head moved since this process last wrote one. A failure is the
 * caller's to log: the change it follows is already committed.
 */
export function checkpointWriter(
  storage: Storage,
  store: CheckpointStore,
  signer: ReturnType<typeof checkpointSigner>,
  now: () => number,
) {
  const written = new Map<string, number>()
  return async (accountId: string): Promise<boolean> => {
    const head = await storage.audit.getAuditHead(accountId)
    if (!head || written.get(accountId) === head.seq) return false
    await store.write(signer.sign({ accountId, seq: head.seq, mac: head.mac, at: now() }))
    written.set(accountId, head.seq)
    return true
  }
}
