import type { ConsoleSession } from '@flexsecure/core'
import type { Child, FC } from 'hono/jsx'

// The page shell every console screen shares. Everything interpolated here is text or an attribute
// value, escaped by hono/jsx: a hostile name is shown, never run.

/** What every page needs to know about the request it answers. */
export interface PageContext {
  /** Where the console is mounted: `/console`. */
  readonly base: string
  /** Versioned URLs of the stylesheet and the script. */
  readonly assets: { readonly css: string; readonly js: string }
  readonly session: ConsoleSession | null
  /** The session's CSRF token, for the forms on the page. */
  readonly csrf: string | null
  /** The request's path, to mark the current screen in the navigation. */
  readonly path: string
}

const SCREENS: readonly [string, string][] = [
  ['', 'Overview'],
  ['/systems', 'Systems'],
  ['/users', 'Users'],
  ['/audit', 'Audit trail'],
  ['/deliveries', 'Deliveries'],
  ['/keys', 'API keys'],
  ['/settings', 'Settings'],
  ['/sessions', 'Your sessions'],
]

/** The hidden CSRF field every state-changing form carries. */
export const Csrf: FC<{ token: string | null }> = ({ token }) =>
  token ? <input type="hidden" name="_csrf" value={token} /> : null

function current(page: PageContext, screen: string): boolean {
  const path = page.path.replace(/\/+$/, '')
  if (screen === '') return path === page.base || path === ''
  return path === `${page.base}${screen}` || path.startsWith(`${page.base}${screen}/`)
}

/** A full console page: skip link, navigation, who is signed in, and the main content. */
export const Layout: FC<{
  page: PageContext
  title: string
  flash?: string | null
  /** Wider than reading width, for a page whose table has many columns (the audit trail). */
  wide?: boolean
  children?: Child
}> = ({ page, title, flash, wide, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width,initial-scale=1" />
      <meta name="robots" content="noindex" />
      <title>{`${title} · FlexSecure console`}</title>
      <link rel="stylesheet" href={page.assets.css} />
      <script src={page.assets.js} defer />
    </head>
    <body>
      <a class="skip" href="#main">
        Skip to the content
      </a>
      <header class="top">
        <a class="brand" href={`${page.base}/`}>
          FlexSecure console
        </a>
        {page.session ? (
          <nav aria-label="Console">
            <ul>
              {SCREENS.map(([screen, label]) => (
                <li>
                  <a
                    href={`${page.base}${screen || '/'}`}
                    aria-current={current(page, screen) ? 'page' : undefined}
                  >
                    {label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        {page.session ? (
          <div class="who">
            <span>
              {page.session.authid} <span class="role">({page.session.role})</span>
            </span>
            <form method="post" action={`${page.base}/sign-out`}>
              <Csrf token={page.csrf} />
              <button type="submit" class="link">
                Sign out
              </button>
            </form>
          </div>
        ) : null}
      </header>
      <main id="main" tabindex={-1} class={wide ? 'wide' : undefined}>
        <h1>{title}</h1>
        {flash ? (
          <p class="flash" role="status">
            {flash}
          </p>
        ) : null}
        {children}
      </main>
    </body>
  </html>
)

/** A time as people read it in the console (UTC), in a machine-readable `<time>`. */
export const When: FC<{ at: Date | number | null | undefined; empty?: string }> = ({ at, empty = '—' }) => {
  if (at === null || at === undefined) return <span>{empty}</span>
  const date = typeof at === 'number' ? new Date(at) : at
  if (Number.isNaN(date.getTime())) return <span>{empty}</span>
  return (
    <time datetime={date.toISOString()}>{`${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`}</time>
  )
}
