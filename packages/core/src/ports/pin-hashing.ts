import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
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
 * One-time PINs as `hmac-sha256$<salt>$<mac>` (base64url): the MAC of the salt and the PIN under a key
 * derived from the engine secret, compared in constant time (S9).
 */
export function hmacPinHasher(secret: string): PinHasher {
  const key = derivedKey(secret, 'one-time-pin-v1')
  const mac = (salt: Buffer, pin: string) => createHmac('sha256', key).update(salt).update(pin).digest()
  return {
    async hash(pin) {
      const salt = randomBytes(16)
      return `${HMAC_PREFIX}${salt.toString('base64url')}$${mac(salt, pin).toString('base64url')}`
    },
    async verify(hash, pin) {
      if (!hash.startsWith(HMAC_PREFIX)) return false
      const [salt, stored] = hash.slice(HMAC_PREFIX.length).split('$')
      if (!salt || !stored) return false
      const expected = Buffer.from(stored, 'base64url')
      const actual = mac(Buffer.from(salt, 'base64url'), pin)
      return expected.length === actual.length && timingSafeEqual(expected, actual)
    },
  }
}

/**
 * The one-time PIN hasher for `pinHashing`: hashes the chosen way, and verifies a hash made either way
 * (a challenge issued before the setting changed still verifies).
 */
export function oneTimePinHasher(secret: string, pinHashing: PinHashing, argon2: PinHasher): PinHasher {
  if (pinHashing !== 'hmac' && pinHashing !== 'argon2id')
    throw new TypeError(`pinHashing must be 'hmac' or 'argon2id', not ${String(pinHashing)}`)
  const hmac = hmacPinHasher(secret)
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
export function pepperedPinHasher(secret: string, inner: PinHasher): MemorizedPinHasher {
  const key = derivedKey(secret, 'memorized-pin-pepper-v1')
  const pepper = (pin: string) => createHmac('sha256', key).update(pin).digest('base64url')
  return {
    hash: async (pin) => `${PEPPERED_PREFIX}${await inner.hash(pepper(pin))}`,
    verify: (hash, pin) =>
      hash.startsWith(PEPPERED_PREFIX)
        ? inner.verify(hash.slice(PEPPERED_PREFIX.length), pepper(pin))
        : inner.verify(hash, pin),
    needsRehash: (hash) => !hash.startsWith(PEPPERED_PREFIX),
  }
}
