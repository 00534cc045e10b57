import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'

// The app's existing login, which FlexSecure does not replace: users with passwords, scrypt-hashed.
// (A real app has this already, in its database; it stays as it is.)

/** The app's own users and their password hashes. */
export interface PasswordBook {
  /** The user's name when the password is right, else null; as slow for unknown names as for known ones. */
  verify(username: unknown, password: unknown): string | null
}

const hash = (password: string, salt: Buffer) => scryptSync(password.normalize('NFKC'), salt, 32)

/** A password book over `users` (name → password), hashed once at start. */
export function passwordBook(users: Readonly<Record<string, string>>): PasswordBook {
  const book = new Map(
    Object.entries(users).map(([name, password]) => {
      const salt = randomBytes(16)
      return [name, { salt, hash: hash(password, salt) }] as const
    }),
  )
  const decoy = { salt: randomBytes(16), hash: randomBytes(32) }
  return {
    verify(username, password) {
      if (typeof username !== 'string' || typeof password !== 'string' || password.length > 1024) return null
      const entry = book.get(username) ?? decoy
      const matches = timingSafeEqual(hash(password, entry.salt), entry.hash)
      return matches && entry !== decoy ? username : null
    },
  }
}
