import { createHash, randomBytes } from 'node:crypto'
import type { SessionStore } from './sessions.js'

// Both completions of docs/integrating.md, with no framework in it. Original device: the browser
// asks, the app calls `start`, remembers the challengeId it returned for that browser, polls `check`
// with it, and on `authenticated` opens its own session. Same device: `start` names the app's return
// URL; the browser that confirms the link lands there with a code, which `complete` redeems for the
// user and opens a session for that browser. The framework files only move cookies and pages.

/** A flat map of what the app knows about the request: the engine audits `ip` and `userAgent`. */
export type RequestContext = Readonly<Record<string, string | number | boolean>>

/** What the flow asks of FlexSecure: an account handle of the engine in process, or `@flexsecure/client`. */
export interface LoginApi {
  start(input: {
    readonly system: string
    readonly authid: string
    readonly context?: RequestContext
    readonly returnUrl?: string
  }): Promise<
    | { readonly result: 'success'; readonly challengeId?: string; readonly matchCode?: string }
    | { readonly result: 'rate limited'; readonly retryAfter: Date }
    | { readonly result: 'security error'; readonly reason: string }
  >
  check(input: {
    readonly system: string
    readonly authid: string
    readonly challengeId?: string
    readonly context?: RequestContext
  }): Promise<
    | { readonly result: 'authenticated'; readonly challengeId: string }
    | { readonly result: 'pending'; readonly delivery?: string | null }
    | { readonly result: 'expired' }
    | { readonly result: 'rate limited'; readonly retryAfter: Date }
    | { readonly result: 'security error'; readonly reason: string }
  >
  /** Same device: spends a completion code once (an account handle's `redeem`, or the client's). */
  redeem?(
    code: string,
  ): Promise<
    | { readonly result: 'authenticated'; readonly system: string; readonly authid: string }
    | { readonly result: 'security error'; readonly reason: string }
  >
}

/**
 * Why a sign-in ended without a session; the sign-in page turns it into words (`endedMessage`).
 * `none`: this browser had no login under way (no cookie, or one this app no longer knows).
 */
export type Ending = 'expired' | 'replaced' | 'too-many-codes' | 'refused' | 'link-spent' | 'none'

/** What the browser that started a login sees next. */
export type PollOutcome =
  | { readonly kind: 'waiting'; readonly matchCode: string | null; readonly note: string | null }
  | { readonly kind: 'signed-in'; readonly session: string }
  | { readonly kind: 'ended'; readonly ending: Ending }

/** What submitting the sign-in form leads to. */
export type BeginOutcome =
  | { readonly kind: 'waiting'; readonly pending: string }
  | { readonly kind: 'refused'; readonly status: 400 | 403 | 429; readonly message: string }

/** A login this app started and still waits for, bound to one browser by its `pending` cookie. */
interface PendingLogin {
  readonly authid: string
  /** The challenge `start` returned: polls name it, so a newer login never answers this one. */
  readonly challengeId: string | undefined
  readonly matchCode: string | null
  readonly startedAt: number
}

/** What the flow is built over: FlexSecure, the system, and the app's session store. */
export interface LoginFlowOptions {
  readonly api: LoginApi
  /** The FlexSecure system this app's users sign in to. */
  readonly system: string
  readonly sessions: SessionStore
  /**
   * Same device: the app's return URL (listed in the system's `policies.passwordless.returnUrls`),
   * or a function when it is known only once the app listens. Without it, links complete only on the
   * device that started the login.
   */
  readonly returnUrl?: string | (() => string)
  readonly now?: () => number
  /** Where refusal reasons go: for the operator, never for the user (they would tell who has an account). */
  readonly log?: (message: string, fields: Record<string, unknown>) => void
}

/** Pending logins are forgotten after the longest challenge lifetime (S4: 10 minutes) and a margin. */
const PENDING_FOR_MS = 11 * 60_000

const digest = (id: string) => createHash('sha256').update(id).digest('base64url')

/**
 * The sign-in flow: `begin` on the form's POST, `poll` from the waiting page, `signOut`. Every method
 * takes the cookie values as strings (or undefined) and returns what to set or show.
 */
export function createLoginFlow(options: LoginFlowOptions) {
  const { api, system, sessions } = options
  const now = options.now ?? Date.now
  const log = options.log ?? ((message, fields) => console.warn(`[example] ${message}`, fields))
  // Keyed by a digest of the cookie's value, so a dump of this map names no live browser.
  const pending = new Map<string, PendingLogin>()

  const forgetStale = () => {
    for (const [key, login] of pending) if (now() - login.startedAt > PENDING_FOR_MS) pending.delete(key)
  }

  return {
    /** Starts a login for what the user typed. On `waiting`, set the `pending` cookie and show the waiting page. */
    async begin(typed: unknown, context: RequestContext): Promise<BeginOutcome> {
      const authid = typeof typed === 'string' ? typed.trim() : ''
      // biome-ignore lint/suspicious/noControlCharactersInRegex: a user name never holds control characters
      if (authid.length === 0 || authid.length > 256 || /[\u0000-\u001f\u007f]/.test(authid))
        return { kind: 'refused', status: 400, message: 'Enter your user name.' }
      const returnUrl = typeof options.returnUrl === 'function' ? options.returnUrl() : options.returnUrl
      const answer = await api.start({ system, authid, context, ...(returnUrl ? { returnUrl } : {}) })
      if (answer.result === 'rate limited') {
        const seconds = Math.max(1, Math.ceil((answer.retryAfter.getTime() - now()) / 1000))
        return {
          kind: 'refused',
          status: 429,
          message: `Too many sign-in attempts. Try again in ${seconds} seconds.`,
        }
      }
      if (answer.result === 'security error') {
        log('start refused', { authid, reason: answer.reason })
        // One message for every reason: "unknown user" and "not assigned" must look alike (S21).
        return {
          kind: 'refused',
          status: 403,
          message: 'We could not send a sign-in link for that name. Check it, or ask your administrator.',
        }
      }
      forgetStale()
      const id = randomBytes(32).toString('base64url')
      pending.set(digest(id), {
        authid,
        challengeId: answer.challengeId,
        matchCode: answer.matchCode ?? null,
        startedAt: now(),
      })
      return { kind: 'waiting', pending: id }
    },

    /**
     * One poll, every 2 seconds from the waiting page: `check` with this browser's challengeId. On
     * `signed-in`, set the session cookie and clear the `pending` one; on `ended`, clear it too.
     */
    async poll(pendingId: string | undefined, context: RequestContext): Promise<PollOutcome> {
      const key = pendingId ? digest(pendingId) : ''
      const login = pending.get(key)
      if (!login) return { kind: 'ended', ending: 'none' }
      const answer = await api.check({
        system,
        authid: login.authid,
        ...(login.challengeId ? { challengeId: login.challengeId } : {}),
        context,
      })
      switch (answer.result) {
        case 'pending':
          return {
            kind: 'waiting',
            matchCode: login.matchCode,
            note:
              answer.delivery === 'failed'
                ? 'We are having trouble delivering your sign-in link and keep trying. You can also start again.'
                : null,
          }
        case 'rate limited':
          // Polled faster than FlexSecure allows (two tabs, say): nothing changed, keep waiting.
          return { kind: 'waiting', matchCode: login.matchCode, note: null }
        case 'authenticated':
          pending.delete(key)
          return { kind: 'signed-in', session: sessions.create(login.authid) }
        case 'expired':
          pending.delete(key)
          return { kind: 'ended', ending: 'expired' }
        case 'security error':
          pending.delete(key)
          if (answer.reason !== 'no_pending_challenge')
            log('check refused', { authid: login.authid, reason: answer.reason })
          return {
            kind: 'ended',
            ending:
              answer.reason === 'no_pending_challenge'
                ? 'replaced'
                : answer.reason === 'attempts_exhausted'
                  ? 'too-many-codes'
                  : 'refused',
          }
      }
    },

    /**
     * Same device: the browser that confirmed the link arrives at the return URL with `?code=`. The
     * code is redeemed on this back end (never trusted from the browser as it is), once; on
     * `signed-in`, set the session cookie for this browser.
     */
    async complete(
      code: unknown,
    ): Promise<
      | { readonly kind: 'signed-in'; readonly session: string }
      | { readonly kind: 'ended'; readonly ending: Ending }
    > {
      if (typeof code !== 'string' || code.length === 0 || code.length > 64 || !api.redeem)
        return { kind: 'ended', ending: 'link-spent' }
      const answer = await api.redeem(code)
      // A code of another system of the account is not a sign-in to this app.
      if (answer.result !== 'authenticated' || answer.system !== system) {
        if (answer.result !== 'authenticated') log('redeem refused', { reason: answer.reason })
        return { kind: 'ended', ending: 'link-spent' }
      }
      return { kind: 'signed-in', session: sessions.create(answer.authid) }
    },

    /** Who the session cookie belongs to, or null. */
    user(sessionId: string | undefined): { readonly authid: string } | null {
      return sessionId ? sessions.get(sessionId) : null
    },

    signOut(sessionId: string | undefined): void {
      if (sessionId) sessions.destroy(sessionId)
    },
  }
}

/** The flow's interface, for the framework files. */
export type LoginFlow = ReturnType<typeof createLoginFlow>

const ENDINGS: Record<Exclude<Ending, 'none'>, string> = {
  expired: 'Your sign-in link expired before it was used. Start again to get a new one.',
  replaced:
    'This sign-in was replaced by a newer one (started in another tab or window), or it already finished. Start again if you still need to sign in.',
  'too-many-codes':
    'The code was entered wrongly too many times on the link’s page, so the link stopped working. Start again.',
  refused: 'This sign-in can no longer be completed. Start again, or ask your administrator.',
  'link-spent':
    'This sign-in link could not sign you in here: it was already used, or it is more than a minute since you confirmed it. Start again.',
}

/** What the sign-in page says after a login ended; unknown values (it comes from a query string) say nothing. */
export function endedMessage(ending: unknown): string | null {
  return typeof ending === 'string' && Object.hasOwn(ENDINGS, ending)
    ? ENDINGS[ending as keyof typeof ENDINGS]
    : null
}
