import { describe, expect, it } from 'vitest'
import { argon2PinHasher } from './pin-hasher.js'

describe('argon2PinHasher', () => {
  const hasher = argon2PinHasher()

  it('hashes with argon2id, m=19456 KiB, t=2, p=1, and a fresh salt each time', async () => {
    const [a, b] = [await hasher.hash('04817263'), await hasher.hash('04817263')]
    const [, type, , params] = a.split('$')
    expect(type).toBe('argon2id')
    expect(Object.fromEntries((params ?? '').split(',').map((kv) => kv.split('=')))).toEqual({
      m: '19456',
      t: '2',
      p: '1',
    })
    expect(a).not.toBe(b)
  })

  it('verifies the right PIN and refuses a wrong one or a damaged hash', async () => {
    const hash = await hasher.hash('04817263')
    expect(await hasher.verify(hash, '04817263')).toBe(true)
    expect(await hasher.verify(hash, '04817264')).toBe(false)
    expect(await hasher.verify('not a hash', '04817263')).toBe(false)
  })
})
