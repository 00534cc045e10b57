import { WAITING_SCRIPT_PATH } from './waiting-script.js'

// The examples' pages: plain HTML with one external script (the waiting page's poller), so the
// Content-Security-Policy allows no inline script at all.

/** Headers for every page: no caching of signed-in pages, no framing, scripts only from this origin. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  )
}

/** A whole page around `body` (already HTML), titled `title` (text). */
export function page(title: string, body: string, script?: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>` +
    (script ? `<script src="${escapeHtml(script)}" defer></script>` : '') +
    `</head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`
  )
}

const alert = (message: string | null | undefined) =>
  message ? `<p role="alert"><strong>${escapeHtml(message)}</strong></p>` : ''

/** The sign-in form: one field, the user's name in FlexSecure (`authid`). */
export function signInPage(
  options: { readonly message?: string | null; readonly authid?: string } = {},
): string {
  return page(
    'Sign in',
    alert(options.message) +
      `<form method="post" action="/login"><p><label for="authid">User name</label></p>` +
      `<p><input id="authid" name="authid" autocomplete="username" required value="${escapeHtml(options.authid ?? '')}"></p>` +
      `<p><button type="submit">Email me a sign-in link</button></p></form>`,
  )
}

/**
 * Shown while the user opens the link elsewhere; its script polls `pollPath` (the app, never
 * FlexSecure) every 2 seconds; without script, `continuePath` polls once by hand. `restartPath` is
 * where "Start again" leads.
 */
export function waitingPage(options: {
  readonly matchCode: string | null
  readonly note?: string | null
  readonly pollPath?: string
  readonly continuePath?: string
  readonly restartPath?: string
}): string {
  const { pollPath = '/login/status', continuePath = '/login/wait', restartPath = '/login' } = options
  const code = options.matchCode
    ? `<p>The link’s page will ask for this code: <strong id="match-code">${escapeHtml(options.matchCode)}</strong></p>`
    : ''
  return page(
    'Check your email',
    `<p>We sent you a sign-in link. Open it on any device and confirm; this page continues on its own.</p>${code}` +
      `<p id="status" role="status" data-poll="${escapeHtml(pollPath)}">${escapeHtml(options.note ?? 'Waiting for you to confirm…')}</p>` +
      `<noscript><p><a href="${escapeHtml(continuePath)}">I confirmed: continue</a></p></noscript>` +
      `<p><a href="${escapeHtml(restartPath)}">Start again</a></p>`,
    WAITING_SCRIPT_PATH,
  )
}

/** The page behind the app's session. */
export function signedInPage(authid: string): string {
  return page(
    'You are signed in',
    `<p>Signed in as <strong id="user">${escapeHtml(authid)}</strong>.</p>` +
      `<form method="post" action="/logout"><button type="submit">Sign out</button></form>`,
  )
}

/** A forbidden cross-site form post. */
export function crossSitePage(): string {
  return page(
    'Request refused',
    '<p>This form was sent from another site. Go back to the app and try again.</p>',
  )
}
