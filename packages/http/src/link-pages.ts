import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import type { ConfirmResult, LinkView } from '@flexsecure/core'

// The pages behind a magic link. GET shows what would be confirmed and changes nothing (S11: mail
// scanners fetch links); only the POST from this page, with its form token, consumes the link.

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b}' +
  'h1{font-size:1.4rem}dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}dt{color:#555}' +
  'button{font:inherit;padding:.6rem 1.4rem;border:0;border-radius:.4rem;background:#1d4ed8;color:#fff;cursor:pointer}' +
  '.note{color:#555;font-size:.9rem}' +
  '#code{font:inherit;font-size:1.5rem;letter-spacing:.3em;width:5em;padding:.3rem .5rem;text-align:center;' +
  'border:1px solid #767676;border-radius:.4rem}#code[aria-invalid]{border-color:#b91c1c}.error{color:#b91c1c}'
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64')

/** S14: no caching, no referrer (the URL holds the token), no framing, nothing but our one style. */
export const LINK_PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'content-security-policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
}

/**
 * The confirm page's headers. Same device: confirming redirects the form's POST to the login's return
 * URL, and CSP's `form-action` governs where a form submission may end up, redirects included, so
 * that one origin (the engine checked it against the system's list) is allowed beside 'self'.
 */
export function linkPageHeaders(view?: Pick<LinkView, 'returnOrigin'>): Record<string, string> {
  if (!view?.returnOrigin) return LINK_PAGE_HEADERS
  return {
    ...LINK_PAGE_HEADERS,
    'content-security-policy': (LINK_PAGE_HEADERS['content-security-policy'] as string).replace(
      "form-action 'self'",
      `form-action 'self' ${view.returnOrigin}`,
    ),
  }
}

/** Same device: the answer to a confirm that issued a completion code, sending this browser back with it. */
export function completionRedirect(completionUrl: string): Response {
  return new Response(null, {
    status: 303,
    headers: {
      location: completionUrl,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    },
  })
}

/** The confirm form holds a 43-character form token and a 3-digit code; 4 KiB is generous (S30). */
export const MAX_FORM_BYTES = 4 * 1024

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  )

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`
}

/** Binds the confirm form to its link, so the POST must come from a page we served (S14). */
export function formTokens(secret: string) {
  const key = Buffer.from(hkdfSync('sha256', secret, 'flexsecure', 'link-form-v1', 32))
  const make = (token: string) => createHmac('sha256', key).update(token).digest('base64url')
  return {
    make,
    verify(token: string, presented: unknown): boolean {
      if (typeof presented !== 'string') return false
      const expected = Buffer.from(make(token))
      const given = Buffer.from(presented)
      return expected.length === given.length && timingSafeEqual(expected, given)
    },
  }
}

const DEAD_ENDS: Record<
  Exclude<LinkView['status'], 'pending'>,
  { status: number; title: string; text: string }
> = {
  used: {
    status: 410,
    title: 'This link was already used',
    text: 'Each sign-in link works once. Start again on your device if you still need to sign in.',
  },
  closed: {
    status: 410,
    title: 'This link was closed',
    text: 'Too many wrong codes were typed on its page, so nothing was confirmed. Start again on your device.',
  },
  expired: {
    status: 410,
    title: 'This link has expired',
    text: 'Sign-in links work for a few minutes only. Start again on your device.',
  },
  superseded: {
    status: 410,
    title: 'A newer link replaced this one',
    text: 'Use the most recent message you received, or start again on your device.',
  },
  disabled: {
    status: 403,
    title: 'Sign-in by link is turned off',
    text: 'The administrator turned this way of signing in off for now. Nothing was confirmed.',
  },
  unknown: {
    status: 404,
    title: 'This link is not valid',
    text: 'Check that you opened the whole link from the message, or start again on your device.',
  },
}

export function deadEndPage(status: Exclude<LinkView['status'], 'pending'>): {
  status: number
  html: string
} {
  const { status: code, title, text } = DEAD_ENDS[status]
  return { status: code, html: page(title, `<p>${escapeHtml(text)}</p>`) }
}

/** The confirm page: which system, when and from where the attempt started, and one button. */
export function confirmPage(view: LinkView, formToken: string, wrongCode = false): string {
  const when = view.startedAt
    ? `${view.startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC`
    : 'just now'
  const rows = [
    ['Signing in to', view.system ?? ''],
    ['Started', when],
    ...(view.ip ? [['From', view.ip]] : []),
    ...(view.userAgent ? [['Device', view.userAgent]] : []),
  ]
  return page(
    `Sign in to ${view.system ?? 'your account'}?`,
    `<dl>${rows.map(([k, v]) => `<dt>${escapeHtml(k as string)}</dt><dd>${escapeHtml(v as string)}</dd>`).join('')}</dl>` +
      `<form method="post"><input type="hidden" name="form" value="${escapeHtml(formToken)}">` +
      // S12: the code the device where the login started shows; without it nothing is confirmed. A wrong
      // one is said beside the box, which a screen reader reads with it.
      (view.numberMatching
        ? '<p><label for="code">Enter the code shown on the device where you started signing in</label></p>' +
          (wrongCode
            ? '<p class="error" id="code-error" role="alert"><strong>That code does not match. Check the code on your device and try again.</strong></p>'
            : '') +
          `<p><input id="code" name="code" inputmode="numeric" autocomplete="off" pattern="[0-9]{3}" maxlength="3" required${wrongCode ? ' aria-invalid="true" aria-describedby="code-error"' : ''}></p>`
        : '') +
      `<button type="submit">Confirm sign-in</button></form>` +
      `<p class="note">If you did not just try to sign in, close this page: nothing happens unless you confirm.</p>`,
  )
}

export function outcomePage(result: Exclude<ConfirmResult, { result: 'wrong_code' }>): {
  status: number
  html: string
} {
  if (result.result !== 'confirmed') return deadEndPage(result.result)
  // Only a URL the engine vetted (https, on an origin the account allows) becomes a link back.
  const back = result.returnUrl
    ? `<p><a href="${escapeHtml(result.returnUrl)}" rel="noreferrer">Continue to ${escapeHtml(result.system)}</a></p>`
    : ''
  return {
    status: 200,
    html: page(
      'You are signed in',
      `<p>Return to the device where you started signing in to ${escapeHtml(result.system)}; it continues on its own.</p>${back}<p class="note">You can close this page.</p>`,
    ),
  }
}

export function badFormPage(): { status: number; html: string } {
  return {
    status: 403,
    html: page(
      'This form has expired',
      '<p>Open the link from your message again and confirm from that page.</p>',
    ),
  }
}
