import { argon2PinHasher, type PinHasher } from '../ports/pin-hasher.js'

/**
 * argon2id with the cheapest parameters, for tests that hash many PINs. Verifying reads the
 * parameters from the hash itself, so it checks hashes made by any argon2 hasher.
 */
export const cheapHasher = (): PinHasher => argon2PinHasher({ memoryCost: 1024, timeCost: 1 })
