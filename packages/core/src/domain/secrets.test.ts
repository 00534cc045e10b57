import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { newId, newLinkToken, newPin, newTimeOrderedId, randomBytesPooled } from './secrets.js'

// S1: codes, tokens and keys come from node:crypto, never Math.random. What draws them is read here:
// a secret drawn from Math.random would look just as random to any test of its output.

const root = new URL('../../../..', import.meta.url).pathname
/** The packages that make, hold or compare secrets. */
const SHIPPED = ['packages/core/src', 'packages/http/src', 'packages/server/src', 'adapters']

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return ['node_modules', 'dist', 'test'].includes(entry.name) ? [] : sources(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : []
  })
}

describe('secrets come from node:crypto (S1)', () => {
  it('finds Math.random in no shipped source of core, http, server or the adapters', () => {
    const files = SHIPPED.flatMap((dir) => sources(join(root, dir)))
    expect(files.length).toBeGreaterThan(40)
    const offenders = files.filter((file) => /Math\.random\s*\(/.test(readFileSync(file, 'utf8')))
    expect(offenders).toEqual([])
  })

  it('draws tokens of 32 and ids of 24 nanoid characters, and PINs of the asked length (S3, S2)', () => {
    expect(newLinkToken()).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(newId()).toMatch(/^[A-Za-z0-9_-]{24}$/)
    expect(newPin(8)).toMatch(/^\d{8}$/)
    expect(new Set(Array.from({ length: 1000 }, () => newLinkToken())).size).toBe(1000)
  })
})

describe('time-ordered ids', () => {
  it('sort by the time they were made, in byte order, and stay 24 base64url characters', () => {
    const times = [0, 1, 63, 64, 4095, 1_700_000_000_000, 1_700_000_000_001, 1_765_000_000_000, 2 ** 47]
    const ids = times.map((at) => newTimeOrderedId(at))
    for (const id of ids) expect(id).toMatch(/^[\w-]{24}$/)
    const byBytes = [...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    expect(byBytes).toEqual(ids)
    // 96 random bits after the time: two ids of one millisecond differ.
    expect(newTimeOrderedId(5)).not.toBe(newTimeOrderedId(5))
  })
})

describe('pooled random bytes', () => {
  it('hands each byte out once: 4,096 draws of 12 bytes (13 pools) never overlap', () => {
    const draws = Array.from({ length: 4096 }, () => randomBytesPooled(12))
    const byPool = new Map<ArrayBufferLike, Buffer[]>()
    for (const draw of draws) byPool.set(draw.buffer, [...(byPool.get(draw.buffer) ?? []), draw])
    expect(byPool.size).toBeGreaterThanOrEqual(12)
    for (const slices of byPool.values()) {
      slices.sort((x, y) => x.byteOffset - y.byteOffset)
      for (let i = 1; i < slices.length; i++) {
        const previous = slices[i - 1] as Buffer
        expect(slices[i]?.byteOffset).toBeGreaterThanOrEqual(previous.byteOffset + previous.length)
      }
    }
    expect(new Set(draws.map((draw) => draw.toString('hex'))).size).toBe(draws.length)
  })

  it('never changes bytes already handed out when the pool is drawn anew', () => {
    const first = randomBytesPooled(16)
    const copy = Buffer.from(first)
    for (let i = 0; i < 1000; i++) randomBytesPooled(16) // about four refills
    expect(first.equals(copy)).toBe(true)
  })

  it('refuses a size it cannot draw from one pool', () => {
    expect(() => randomBytesPooled(0)).toThrow(RangeError)
    expect(() => randomBytesPooled(4097)).toThrow(/1 to 4096/)
    expect(() => randomBytesPooled(1.5)).toThrow(RangeError)
  })
})
