import { createHash, createHmac, hkdfSync, randomFillSync, randomInt } from 'node:crypto'
import { nanoid } from 'nanoid'

// Every secret comes from node:crypto (S1); nanoid draws from crypto.getRandomValues.

/** Ids of rows: 24 nanoid characters, 144 bits (S3). */
export function newId(): string {
  return nanoid(24)
}

// base64url's characters in their byte order, so a prefix written with them sorts as its number.
const SORTED = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'

/**
 * Ids of the rows every login adds (challenges, deliveries): 24 characters like `newId`, the first 8 the
 * time `at` in milliseconds (sorting as the time, in binary collation, until the year 10889), then 16
 * nanoid characters (96 random bits). Rows inserted together sit together at the end of their primary
 * key instead of on random pages of it, which keeps a large table's inserts in the page cache.
 */
export function newTimeOrderedId(at: number): string {
  return timePrefix(at) + nanoid(16)
}

/** The 8 characters a time-ordered id begins with: `at` in whole milliseconds. */
export function timePrefix(at: number): string {
  let time = Math.max(0, Math.floor(at))
  let prefix = ''
  for (let i = 0; i < 8; i++) {
    prefix = (SORTED[time % 64] as string) + prefix
    time = Math.floor(time / 64)
  }
  return prefix
}

/** The time `timePrefix` wrote in the first 8 characters of `id`, or null when they are not such a prefix. */
export function timeOfPrefix(id: string): number | null {
  if (id.length < 8) return null
  let time = 0
  for (let i = 0; i < 8; i++) {
    const digit = SORTED.indexOf(id[i] ?? '')
    if (digit < 0) return null
    time = time * 64 + digit
  }
  return time
}

/** Bytes drawn from node:crypto at a time, for `randomBytesPooled`. */
const POOL_BYTES = 4096
let pool = Buffer.alloc(0)
let poolOffset = 0

/**
 * `size` random bytes from node:crypto's generator (S1), for values that must be unpredictable and never
 * repeat but are not secret by themselves: an AES-GCM nonce, a hash's salt, a decoy's nonce. A call to
 * `randomBytes` costs about 5 µs whatever the size (a buffer of its own and a call into OpenSSL), which is
 * about 2.5% of a login at 64 in flight; this draws 4 KiB at a time and hands each byte out once, as nanoid
 * does for ids and tokens. A refill takes a new buffer, so bytes already handed out never change.
 */
export function randomBytesPooled(size: number): Buffer {
  if (!Number.isInteger(size) || size < 1 || size > POOL_BYTES)
    throw new RangeError(`randomBytesPooled: size must be an integer from 1 to ${POOL_BYTES}, not ${size}`)
  if (poolOffset + size > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_BYTES))
    poolOffset = 0
  }
  const bytes = pool.subarray(poolOffset, poolOffset + size)
  poolOffset += size
  return bytes
}

/** A magic-link token: 32 nanoid characters, 192 bits (S3). */
export function newLinkToken(): string {
  return nanoid(32)
}

/** A one-time PIN of `length` digits, uniformly drawn (S2). */
export function newPin(length: number): string {
  let pin = ''
  for (let i = 0; i < length; i++) pin += randomInt(10).toString()
  return pin
}

/** SHA-256, hex: how link tokens (and later API keys) are kept at rest (S8). */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

/**
 * A keyed digest (HMAC-SHA-256 under an HKDF key of the engine secret): a value the tables may hold
 * for counting or matching (a destination, a device) without giving the value back.
 */
export function keyedDigest(secret: string): (value: string) => string {
  const key = Buffer.from(hkdfSync('sha256', secret, 'flexsecure', 'destination-digest-v1', 32))
  return (value) => createHmac('sha256', key).update(value).digest('hex')
}
