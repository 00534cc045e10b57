import { createHash, randomBytes } from 'node:crypto'

// The app's own sessions: FlexSecure authenticates, the host keeps who is signed in. In memory here;
// a real app keeps them wherever it keeps sessions today (its database, Redis), stored the same way.

/** Where the app keeps who is signed in. */
export interface SessionStore {
  /** A new session for `authid`; the returned id goes in the session cookie and nowhere else. */
  create(authid: string): string
  get(id: string): { readonly authid: string } | null
  destroy(id: string): void
}

/** How long a session lasts: 8 hours, then the user signs in again. */
export const SESSION_SECONDS = 8 * 3600

/**
 * The cookies' names and attributes, for each framework's own cookie API. HttpOnly: no script reads
 * them. SameSite=Lax: other sites' forms and fetches do not carry them (a cross-site POST cannot sign
 * anyone out or ride a session), while a link from the user's mail to the app still does.
 */
export const COOKIES = {
  session: { name: 'session', path: '/', maxAgeSeconds: SESSION_SECONDS },
  pending: { name: 'pending_login', path: '/', maxAgeSeconds: 11 * 60 },
} as const

/** Sessions in process memory, stored by a SHA-256 of their id, ending after `SESSION_SECONDS`. */
export function memorySessions(now: () => number = Date.now): SessionStore {
  const sessions = new Map<string, { authid: string; expiresAt: number }>()
  const key = (id: string) => createHash('sha256').update(id).digest('base64url')
  return {
    create(authid) {
      const id = randomBytes(32).toString('base64url')
      sessions.set(key(id), { authid, expiresAt: now() + SESSION_SECONDS * 1000 })
      return id
    },
    get(id) {
      const session = sessions.get(key(id))
      if (!session) return null
      if (now() >= session.expiresAt) {
        sessions.delete(key(id))
        return null
      }
      return { authid: session.authid }
    },
    destroy(id) {
      sessions.delete(key(id))
    },
  }
}
