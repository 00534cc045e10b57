import type { PollOutcome, RequestContext } from './login-flow.js'

/**
 * What `start` and `check` get to know about the browser's request: its address and user agent. The
 * engine audits both (S25), shows them on the link's confirm page, and adaptive rules can test them.
 */
export function requestContext(ip: string | undefined, userAgent: string | undefined): RequestContext {
  return {
    ...(ip ? { ip } : {}),
    // The engine takes at most 1024 characters (a header's characters are single code units).
    ...(userAgent ? { userAgent: userAgent.slice(0, 1024) } : {}),
  }
}

/**
 * A form posted from another site (login CSRF: signing the victim's browser in to the attacker's
 * account, or signing them out). Browsers send `Origin` with every POST; a request without one did
 * not come from a page of another site.
 */
export function isCrossSite(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return false
  try {
    return new URL(origin).host !== host
  } catch {
    return true
  }
}

/** Where the waiting page goes once the wait is over: home when signed in, else the sign-in page saying why. */
export function nextLocation(outcome: PollOutcome): string | null {
  if (outcome.kind === 'signed-in') return '/'
  if (outcome.kind === 'ended') return outcome.ending === 'none' ? '/login' : `/login?ended=${outcome.ending}`
  return null
}
