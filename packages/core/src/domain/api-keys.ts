import { createHash, randomBytes } from 'node:crypto'

// API keys (S22): `fsk_` + 32 base62 characters (190 bits from node:crypto) + a 6-character CRC-32
// checksum, so secret scanners can recognize a key and a typo is refused without a database lookup.

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const BODY_LENGTH = 32
const CHECK_LENGTH = 6
export const API_KEY_PREFIX = 'fsk_'
const SHAPE = new RegExp(`^${API_KEY_PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECK_LENGTH}}$`)

export type Scope = 'auth' | 'admin'
export const SCOPES: readonly Scope[] = ['auth', 'admin']

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(text: string): number {
  let crc = 0xffffffff
  for (const byte of Buffer.from(text)) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

function base62(value: number, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) {
    out = BASE62[value % 62] + out
    value = Math.floor(value / 62)
  }
  return out
}

/** A new key. Rejection sampling keeps every base62 character uniform. */
export function newApiKey(): string {
  let body = ''
  while (body.length < BODY_LENGTH)
    for (const byte of randomBytes(48)) if (byte < 248 && body.length < BODY_LENGTH) body += BASE62[byte % 62]
  return `${API_KEY_PREFIX}${body}${base62(crc32(body), CHECK_LENGTH)}`
}

/** Whether `key` has the shape and a valid checksum: cheap, and refuses typos before any lookup. */
export function isWellFormedApiKey(key: unknown): key is string {
  if (typeof key !== 'string' || !SHAPE.test(key)) return false
  const body = key.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + BODY_LENGTH)
  return key.endsWith(base62(crc32(body), CHECK_LENGTH))
}

/** What is stored of a key: its SHA-256 (S8), and a display prefix too short to be useful to a thief. */
export function apiKeyDigest(key: string): { sha256: string; prefix: string } {
  return {
    sha256: createHash('sha256').update(key).digest('hex'),
    prefix: key.slice(0, API_KEY_PREFIX.length + 6),
  }
}
