import argon2 from 'argon2'

/** Hashes one-time PINs at rest. `verify` must compare in constant time (S9). */
export interface PinHasher {
  hash(pin: string): Promise<string>
  verify(hash: string, pin: string): Promise<boolean>
}

/** OWASP's first argon2id row (S8): 19 MiB, 2 passes, 1 lane. */
export const ARGON2_DEFAULTS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const

/**
 * The default PinHasher: argon2id with a fresh salt per hash, run on libuv's thread pool so it never
 * blocks the event loop.
 */
export function argon2PinHasher(
  options: { readonly memoryCost?: number; readonly timeCost?: number; readonly parallelism?: number } = {},
): PinHasher {
  const params = { ...ARGON2_DEFAULTS, ...options, type: argon2.argon2id as 2 }
  return {
    hash: (pin) => argon2.hash(pin, params),
    verify: async (hash, pin) => {
      try {
        return await argon2.verify(hash, pin)
      } catch {
        return false
      }
    },
  }
}
