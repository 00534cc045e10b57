import { createHmac, hkdfSync } from 'node:crypto'
import { auditSealer } from '../audit/audit-chain.js'
import { SecretMismatchError, ValidationError } from '../domain/errors.js'
import { payloadCipher } from '../outbox/outbox.js'
import type { Clock } from '../ports/clock.js'
import type { PayloadCipher } from '../ports/engine-context.js'
import type { Storage } from '../ports/storage.js'
import { adminAudit } from './account-admin.js'

// docs/security.md S33. The engine secret keys the audit chain, the outbox seal and the digests. A process
// started with another secret on the same database used to run on, sealing a second chain that `audit
// verify` later called tampering. The database now keeps a keyed fingerprint of the secret (never the
// secret), and a process whose keyring does not hold it refuses to start. Rotation is a keyring: the
// newest secret seals and MACs; older ones still open payloads and verify events they sealed.

/** The secrets an engine holds: the first seals and MACs, every one opens and verifies. */
export type Keyring = readonly [primary: string, ...previous: string[]]

/** Checks every secret (≥ 32 characters, no duplicates) and puts the primary first. */
export function keyringOf(primary: unknown, previous: unknown = []): Keyring {
  if (typeof primary !== 'string' || primary.length < 32)
    throw new ValidationError('secret', 'must be a string of at least 32 characters')
  if (!Array.isArray(previous)) throw new ValidationError('previousSecrets', 'must be a list of secrets')
  previous.forEach((secret, i) => {
    if (typeof secret !== 'string' || secret.length < 32)
      throw new ValidationError(`previousSecrets[${i}]`, 'must be a string of at least 32 characters')
  })
  const all = [primary, ...(previous as string[])]
  if (new Set(all).size !== all.length)
    throw new ValidationError('previousSecrets', 'must not repeat a secret (the primary included)')
  return all as unknown as Keyring
}

/**
 * A keyed fingerprint: HMAC-SHA256 under a key derived from the secret, over a fixed label. It names a
 * secret without revealing it; only someone holding the secret can make or test it.
 */
export function secretFingerprint(secret: string): string {
  const key = Buffer.from(hkdfSync('sha256', secret, 'flexsecure', 'secret-fingerprint-v1', 32))
  return `fp1.${createHmac('sha256', key).update('flexsecure engine secret').digest('hex').slice(0, 32)}`
}

/** How a start found the database: first start, the same secret, or the first start after a rotation. */
export type SecretCheck = 'claimed' | 'matched' | 'rotated'

/**
 * Compares the database's fingerprint with the keyring. None stored: stores the primary's, after checking
 * that no account's audit head was sealed under a secret outside the keyring (a database from before the
 * fingerprint). The primary's: nothing to do. A previous secret's: this is the first start after a
 * rotation, which `rotateSecret` completes. Anything else: `SecretMismatchError`.
 */
export async function checkSecret(storage: Storage, keyring: Keyring, clock: Clock): Promise<SecretCheck> {
  const store = storage.secretStore
  if (!store) return 'matched'
  const primary = secretFingerprint(keyring[0])
  for (let tries = 0; tries < 3; tries++) {
    const stored = await store.readFingerprint()
    if (stored === primary) return 'matched'
    if (stored === null) {
      await refuseForeignHeads(storage, keyring)
      if (await store.swapFingerprint(null, primary)) return 'claimed'
      continue
    }
    if (keyring.slice(1).some((secret) => secretFingerprint(secret) === stored)) {
      await rotateSecret(storage, keyring, clock, stored)
      return 'rotated'
    }
    throw new SecretMismatchError(stored, primary)
  }
  throw new SecretMismatchError(null, primary)
}

/** A database from before fingerprints: some account's head must verify under the keyring, or none exist. */
async function refuseForeignHeads(storage: Storage, keyring: Keyring): Promise<void> {
  const sealers = keyring.map(auditSealer)
  for (const account of await storage.accounts.listAccounts()) {
    const head = await storage.audit.getAuditHead(account.id)
    if (!head?.headMac) continue
    const sealed = { accountId: account.id, ...head }
    if (!sealers.some((sealer) => sealer.head(sealed) === head.headMac))
      throw new SecretMismatchError(
        'an audit chain sealed under another secret',
        secretFingerprint(keyring[0]),
      )
  }
}

/**
 * Makes the keyring's primary the database's secret: records its fingerprint (only if the stored one is
 * still `from`, so one process does it), re-seals every outbox payload still waiting under the primary, and
 * appends `engine.secret.rotated` to every account's chain, sealed under the new key. Returns how many
 * payloads it re-sealed, or null when another process rotated first.
 */
export async function rotateSecret(
  storage: Storage,
  keyring: Keyring,
  clock: Clock,
  from?: string,
): Promise<{ resealed: number; accounts: number } | null> {
  const store = storage.secretStore
  if (!store) throw new ValidationError('storage', 'does not keep a secret fingerprint (no secretStore)')
  const stored = from ?? (await store.readFingerprint())
  const next = secretFingerprint(keyring[0])
  if (stored === next) return { resealed: 0, accounts: 0 }
  if (stored !== null && !keyring.some((secret) => secretFingerprint(secret) === stored))
    throw new SecretMismatchError(stored, next)
  if (!(await store.swapFingerprint(stored, next))) return null
  const resealed = await resealPayloads(store, keyring)
  const accounts = await storage.accounts.listAccounts()
  const at = clock.now()
  for (const account of accounts)
    await storage.audit.appendAudit([
      adminAudit(account.id, 'operator', at, 'engine.secret.rotated', {
        details: { from: stored, to: next, resealedPayloads: resealed },
      }),
    ])
  return { resealed, accounts: accounts.length }
}

/** Opens each waiting payload with the keyring and seals it again under the primary. */
async function resealPayloads(store: NonNullable<Storage['secretStore']>, keyring: Keyring): Promise<number> {
  const cipher: PayloadCipher = payloadCipher(keyring)
  let resealed = 0
  let after: string | null = null
  for (;;) {
    const page = await store.sealedPayloads(after, 500)
    for (const row of page) {
      let opened: ReturnType<PayloadCipher['open']>
      try {
        opened = cipher.open(row.id, row.payload)
      } catch {
        continue // sealed under a secret outside the keyring: the outbox gives it up when it comes due
      }
      if (await store.replacePayload(row.id, row.payload, cipher.seal(row.id, opened))) resealed += 1
    }
    if (page.length < 500) return resealed
    after = page.at(-1)?.id ?? null
  }
}
