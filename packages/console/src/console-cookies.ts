import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'

// The console's cookies and the tokens derived from them. The session cookie holds the session's
// token (storage keeps its SHA-256 only). The sign-in cookie carries a login in progress, signed with
// a key derived from the engine secret. Every form carries a token that is an HMAC of the cookie it
// belongs to, so a form posted from another site (which cannot read the cookie) is refused (S24).
// All cookies: HttpOnly, SameSite=Strict, and Secure with the __Host- prefix over HTTPS.

/** A console login in progress, as the sign-in cookie carries it. */
export interface PendingSignIn {
  readonly accountId: string
  readonly authid: string
  /** The challenge `start` returned; null when it returned none (a refusal, or uniform responses). */
  readonly challengeId: string | null
  readonly method: 'passwordless' | 'pin' | null
  /** The code the link's page asks for (number matching). */
  readonly matchCode: string | null
  readonly expiresAt: number
  /** Set when this login re-authenticates that session rather than opening one. */
  readonly reauth: string | null
  /** Where to go once signed in (a console path). */
  readonly next: string | null
  /** When this browser asked (absent in a cookie set before this field existed). */
  readonly startedAt?: number
}

/** Cookie names and flags for one console. */
export interface ConsoleCookies {
  readonly session: string
  readonly signIn: string
  readonly visitor: string
  readonly options: { readonly path: string; readonly secure: boolean }
}

/** The cookie names and flags for a console at `basePath`, secure or not. */
export function consoleCookies(basePath: string, secure: boolean): ConsoleCookies {
  // __Host- cookies must be Secure with Path=/; over plain HTTP (development) they are scoped to the console.
  const prefix = secure ? '__Host-' : ''
  return {
    session: `${prefix}fs_console`,
    signIn: `${prefix}fs_console_signin`,
    visitor: `${prefix}fs_console_visitor`,
    options: { path: secure ? '/' : basePath, secure },
  }
}

/** Sets a console cookie with the console's flags. */
export function putCookie(
  c: Context,
  cookies: ConsoleCookies,
  name: string,
  value: string,
  maxAgeSeconds: number,
) {
  setCookie(c, name, value, {
    path: cookies.options.path,
    secure: cookies.options.secure,
    httpOnly: true,
    sameSite: 'Strict',
    maxAge: maxAgeSeconds,
  })
}

/** Deletes a console cookie (same path and flags as it was set with). */
export function dropCookie(c: Context, cookies: ConsoleCookies, name: string) {
  deleteCookie(c, name, { path: cookies.options.path, secure: cookies.options.secure })
}

/** A cookie of the request, or undefined. */
export function readCookie(c: Context, name: string): string | undefined {
  return getCookie(c, name)
}

/** The HMAC tokens of one console, under keys derived from the engine secret. */
export interface ConsoleTokens {
  /** The CSRF token of a session (from its cookie's token). */
  csrf(sessionToken: string): string
  /** The token of a sign-in form, bound to the visitor or sign-in cookie it was served with. */
  form(cookieValue: string): string
  /** Constant-time comparison of a presented token with the expected one. */
  matches(expected: string, presented: unknown): boolean
  sign(pending: PendingSignIn): string
  /** The pending sign-in a cookie carries, if its signature holds and it has not expired at `now`. */
  open(value: string | undefined, now: number): PendingSignIn | null
  /** A fresh random visitor id (128 bits). */
  visitor(): string
}

/** The console's tokens under keys derived (HKDF) from the engine secret. */
export function consoleTokens(secret: string): ConsoleTokens {
  const key = (purpose: string) => Buffer.from(hkdfSync('sha256', secret, 'flexsecure', purpose, 32))
  const csrfKey = key('console-csrf-v1')
  const formKey = key('console-form-v1')
  const signKey = key('console-signin-v1')
  const mac = (k: Buffer, value: string) => createHmac('sha256', k).update(value).digest('base64url')
  const matches = (expected: string, presented: unknown) => {
    if (typeof presented !== 'string') return false
    const a = Buffer.from(expected)
    const b = Buffer.from(presented)
    return a.length === b.length && timingSafeEqual(a, b)
  }
  return {
    csrf: (token) => mac(csrfKey, token),
    form: (value) => mac(formKey, value),
    matches,
    sign(pending) {
      const body = Buffer.from(JSON.stringify(pending)).toString('base64url')
      return `${body}.${mac(signKey, body)}`
    },
    open(value, now) {
      if (!value || value.length > 4096) return null
      const [body, signature] = value.split('.')
      if (!body || !signature || !matches(mac(signKey, body), signature)) return null
      try {
        const pending = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as PendingSignIn
        return typeof pending.expiresAt === 'number' && now < pending.expiresAt ? pending : null
      } catch {
        return null
      }
    },
    visitor: () => randomBytes(16).toString('base64url'),
  }
}
