import { ValidationError } from './errors.js'

// Same-device completion sends a browser to a URL the system lists. Only exact, listed URLs are ever
// used (no prefix or origin match: an open redirect needs only one loose comparison), and each listed
// URL is checked when it is saved, so the list holds nothing a browser could be sent to by surprise.

const MAX_RETURN_URLS = 20
const MAX_URL_LENGTH = 2048
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Why `value` cannot be a return URL, or null when it can. */
function returnUrlProblem(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_URL_LENGTH)
    return `must be a URL of at most ${MAX_URL_LENGTH} characters`
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'must be an absolute URL'
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    return 'must be https (http only on localhost, 127.0.0.1 or [::1])'
  if (url.username || url.password) return 'must not hold a user name or password'
  if (url.hash) return 'must not have a fragment'
  // Written as the URL parser writes it, so an exact comparison means what it says.
  if (url.href !== value) return `must be written in its normal form (${url.href})`
  return null
}

/** Validates a system's list of return URLs; throws `ValidationError` naming the bad entry. */
export function requireReturnUrls(value: unknown, field: string): readonly string[] {
  if (!Array.isArray(value) || value.length > MAX_RETURN_URLS)
    throw new ValidationError(field, `must list at most ${MAX_RETURN_URLS} URLs`)
  value.forEach((entry, i) => {
    const problem = returnUrlProblem(entry)
    if (problem) throw new ValidationError(`${field}[${i}]`, problem)
  })
  if (new Set(value).size !== value.length) throw new ValidationError(field, 'has a duplicate')
  return [...(value as string[])]
}

/**
 * The return URL a `start` names, if the system lists it exactly; `ValidationError` otherwise. Null
 * when the start names none.
 */
export function chooseReturnUrl(requested: unknown, listed: readonly string[] | undefined): string | null {
  if (requested === undefined || requested === null) return null
  if (typeof requested !== 'string' || requested.length > MAX_URL_LENGTH)
    throw new ValidationError('returnUrl', `must be a URL of at most ${MAX_URL_LENGTH} characters`)
  if (!listed?.includes(requested))
    throw new ValidationError('returnUrl', 'is not one of the system’s policies.passwordless.returnUrls')
  return requested
}

/** The return URL with the completion code in its query (`code`), replacing any `code` already there. */
export function withCompletionCode(returnUrl: string, code: string): string {
  const url = new URL(returnUrl)
  url.searchParams.set('code', code)
  return url.href
}
