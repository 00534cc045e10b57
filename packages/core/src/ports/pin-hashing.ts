import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import { randomBytesPooled } from '../domain/secrets.js'
import type { PinHasher } from './pin-hasher.js'

// S8: PINs at rest need the engine secret to be tested. A one-time PIN (short-lived, attempt-limited) is
// an HMAC-SHA-256 under a key derived from the secret over a fresh salt and the PIN: microseconds to make
// and to check, and a stolen database alone cannot test a single guess. A memorized PIN (long-lived, chosen
// by the user) stays slow to test (argon2id), over the PIN peppered with an HMAC under another derived key.

/** How one-time PINs are hashed (`EngineOptions.pinHashing`). */
export type PinHashing = 'hmac' | 'argon2id'

const HMAC_PREFIX = 'hmac-sha256$'
const PEPPERED_PREFIX = 'peppered1$'

function derivedKey(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'flexsecure', purpose, 32))
}

/**
 * Whether `hash` is a one-time PIN's keyed HMAC: microseconds to verify, so `check` may verify it before
 * taking the attempt (`LoginStore.settlePinAttempt`); an argon2 hash is verified only once its attempt is taken.
 */
export const isKeyedPinHash = (hash: string): boolean => hash.startsWith(HMAC_PREFIX)

/**
 * One-time PINs as `hmac-sha256$<salt>$<mac>` (base64url): the MAC of the salt and the PIN under a key
 * derived from the engine secret, compared in constant time (S9).
 */
export function hmacPinHasher(keyring: string | readonly string[]): PinHasher {
  // S33: the first secret of the keyring makes new hashes; every one of them verifies (a PIN issued
  // just before a rotation still works).
  const keys = (typeof keyring === 'string' ? [keyring] : keyring).map((secret) =>
    derivedKey(secret, 'one-time-pin-v1'),
  )
  const mac = (key: Buffer, salt: Buffer, pin: string) =>
    createHmac('sha256', key).update(salt).update(pin).digest()
  return {
    async hash(pin) {
      const salt = randomBytesPooled(16)
      return `${HMAC_PREFIX}${salt.toString('base64url')}$${mac(keys[0]!, salt, pin).toString('base64url')}`
    },
    async verify(hash, pin) {
      if (!hash.startsWith(HMAC_PREFIX)) return false
      const [salt, stored] = hash.slice(HMAC_PREFIX.length).split('$')
      if (!salt || !stored) return false
      const expected = Buffer.from(stored, 'base64url')
      let matched = false
      for (const key of keys) {
        const actual = mac(key, Buffer.from(salt, 'base64url'), pin)
        if (expected.length === actual.length && timingSafeEqual(expected, actual)) matched = true
      }
      return matched
    },
  }
}

/**
 * The one-time PIN hasher for `pinHashing`: hashes the chosen way, and verifies a hash made either way
 * (a challenge issued before the setting changed still verifies).
 */
export function oneTimePinHasher(
  keyring: string | readonly string[],
  pinHashing: PinHashing,
  argon2: PinHasher,
): PinHasher {
  if (pinHashing !== 'hmac' && pinHashing !== 'argon2id')
    throw new TypeError(`pinHashing must be 'hmac' or 'argon2id', not ${String(pinHashing)}`)
  const hmac = hmacPinHasher(keyring)
  return {
    hash: (pin) => (pinHashing === 'hmac' ? hmac.hash(pin) : argon2.hash(pin)),
    verify: (hash, pin) => (hash.startsWith(HMAC_PREFIX) ? hmac.verify(hash, pin) : argon2.verify(hash, pin)),
  }
}

/** A memorized-PIN hasher, with a way to tell a hash made before the pepper. */
export interface MemorizedPinHasher extends PinHasher {
  /** True for a hash made without the pepper: verify it as it is, then store `hash(pin)` instead. */
  needsRehash(hash: string): boolean
}

/**
 * Memorized PINs: `inner` (argon2id) over the HMAC-SHA-256 of the PIN under a key derived from the
 * secret, stored as `peppered1$<inner hash>`. A hash without the prefix (made before the pepper) is
 * verified over the plain PIN, and `needsRehash` says to replace it.
 */
export function pepperedPinHasher(keyring: string | readonly string[], inner: PinHasher): MemorizedPinHasher {
  // S33: peppered under the keyring's first secret; a PIN peppered under an older one still verifies
  // (one more argon2 verification per older secret while it stays in the keyring).
  const keys = (typeof keyring === 'string' ? [keyring] : keyring).map((secret) =>
    derivedKey(secret, 'memorized-pin-pepper-v1'),
  )
  const pepper = (key: Buffer, pin: string) => createHmac('sha256', key).update(pin).digest('base64url')
  return {
    hash: async (pin) => `${PEPPERED_PREFIX}${await inner.hash(pepper(keys[0]!, pin))}`,
    async verify(hash, pin) {
      if (!hash.startsWith(PEPPERED_PREFIX)) return inner.verify(hash, pin)
      for (const key of keys)
        if (await inner.verify(hash.slice(PEPPERED_PREFIX.length), pepper(key, pin))) return true
      return false
    },
    needsRehash: (hash) => !hash.startsWith(PEPPERED_PREFIX),
  }
}
