import { createHash, randomInt } from 'node:crypto'
import { nanoid } from 'nanoid'

// Every secret comes from node:crypto (S1); nanoid draws from crypto.getRandomValues.

/** Ids of rows: 24 nanoid characters, 144 bits (S3). */
export function newId(): string {
  return nanoid(24)
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
