import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import {
  type ConsoleSessions,
  consoleActor,
  type Engine,
  NotFoundError,
  type SessionLimits,
  ValidationError,
} from '@flexsecure/core'
import { type Context, Hono } from 'hono'
import {
  type ConnectionInfo,
  type ConsoleEnv,
  type ConsoleKit,
  type Form,
  FormError,
} from './console-context.js'
import {
  type ConsoleCookies,
  type ConsoleTokens,
  consoleCookies,
  consoleTokens,
  readCookie,
} from './console-cookies.js'
import { auditRoutes } from './routes/audit.js'
import { deliveryRoutes } from './routes/deliveries.js'
import { keyRoutes } from './routes/keys.js'
import { overviewRoutes } from './routes/overview.js'
import { sessionRoutes } from './routes/sessions.js'
import { settingsRoutes } from './routes/settings.js'
import { signInRoutes } from './routes/sign-in.js'
import { systemRoutes } from './routes/systems.js'
import { userRoutes } from './routes/users.js'
import { Layout } from './views/layout.js'

/** What `createConsole` needs: the engine and its secret; the rest has defaults. */
export interface ConsoleOptions {
  readonly engine: Engine
  /** The engine's secret: keys the CSRF tokens and the sign-in cookie (through HKDF). */
  readonly secret: string
  /** Where the console is mounted. Default `/console`. */
  readonly basePath?: string
  /** Cookies with `Secure` and the `__Host-` prefix: true when the console is reached over HTTPS. */
  readonly secureCookies?: boolean
  readonly sessions?: Partial<SessionLimits>
  /** Behind a reverse proxy: the browser's address is the last `X-Forwarded-For` entry. */
  readonly trustProxy?: boolean
  /** Milliseconds since the epoch; pass the engine's clock in tests. */
  readonly now?: () => number
}

/** The console as a web-standard handler, with its periodic upkeep. */
export interface ConsoleHandler {
  /** False when the storage cannot host the console; `unavailable` then says why. */
  readonly available: boolean
  readonly unavailable: string | null
  fetch(request: Request, connection?: ConnectionInfo): Promise<Response>
  /** Periodic work: deletes ended sessions and counts new audit events into the login statistics. */
  maintain(): Promise<{ sessions: number; counted: number }>
}

const MAX_FORM_BYTES = 64 * 1024
/** What a viewer may POST: nothing that changes the account. */
const VIEWER_MAY = new Set(['/sign-out', '/sessions/revoke', '/audit/verify', '/settings/messages/preview'])

/**
 * S24 and S14: scripts and styles only from the console's own files, nothing inline, no framing, no
 * caching of pages, no referrer leaving the console.
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
}

/** Reads a file of the package's `assets` folder, with a version for its URL. */
function asset(name: string, type: string) {
  const body = readFileSync(new URL(`../assets/${name}`, import.meta.url))
  return { body, type, version: createHash('sha256').update(body).digest('hex').slice(0, 12) }
}

/**
 * `path` with `?done=` (the notice to show) in its query: before a `#section`, where a browser reads it,
 * not after, where it would be part of the fragment.
 */
export function withDone(path: string, done?: string): string {
  if (!done) return path
  const hash = path.indexOf('#')
  const [before, fragment] = hash < 0 ? [path, ''] : [path.slice(0, hash), path.slice(hash)]
  return `${before}${before.includes('?') ? '&' : '?'}done=${encodeURIComponent(done)}${fragment}`
}

/**
 * The administration console as a web-standard handler, to mount at `basePath` on the same origin as
 * the API. Administrators sign in with FlexSecure itself (the account's `flexsecure-console` system).
 *
 * ```ts
 * const console = createConsole({ engine, secret })
 * const response = await console.fetch(new Request('http://localhost:8080/console/'))
 * ```
 */
export function createConsole(options: ConsoleOptions): ConsoleHandler {
  const base = (options.basePath ?? '/console').replace(/\/+$/, '')
  const now = options.now ?? Date.now
  let sessions: ConsoleSessions
  try {
    sessions = options.engine.consoleSessions(options.sessions)
  } catch (error) {
    return unavailableConsole((error as Error).message)
  }
  const cookies: ConsoleCookies = consoleCookies(base, options.secureCookies === true)
  const tokens: ConsoleTokens = consoleTokens(options.secret)
  const files = {
    css: asset('console.css', 'text/css; charset=utf-8'),
    js: asset('console.js', 'text/javascript; charset=utf-8'),
  }
  const forms = new WeakMap<Request, Promise<Form>>()
  const app = new Hono<ConsoleEnv>()

  const kit: ConsoleKit = {
    engine: options.engine,
    sessions,
    base,
    cookies,
    tokens,
    now,
    page: (c) => ({
      base,
      assets: {
        css: `${base}/assets/console.css?v=${files.css.version}`,
        js: `${base}/assets/console.js?v=${files.js.version}`,
      },
      session: c.var.session ?? null,
      csrf: c.var.csrf ?? null,
      path: new URL(c.req.url).pathname,
    }),
    async render(c, node, status = 200) {
      return carryCookies(
        c,
        new Response(`<!doctype html>${await node.toString()}`, {
          status,
          headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
        }),
      )
    },
    form(c) {
      let parsed = forms.get(c.req.raw)
      if (!parsed) {
        parsed = readForm(c.req.raw)
        forms.set(c.req.raw, parsed)
      }
      return parsed
    },
    redirect: (c, path, done) =>
      carryCookies(c, new Response(null, { status: 303, headers: { location: withDone(path, done) } })),
    clientAddress(c) {
      if (options.trustProxy) {
        const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim()
        if (forwarded && /^[0-9a-fA-F:.]{2,45}$/.test(forwarded)) return forwarded
      }
      return c.env?.connection?.remoteAddress
    },
    requireFresh(c, back) {
      if (c.var.session?.fresh) return null
      return kit.redirect(c, `${base}/confirm?next=${encodeURIComponent(back)}`)
    },
  }

  const page = (c: Parameters<ConsoleKit['page']>[0], title: string, text: string, status: number) =>
    kit.render(
      c,
      <Layout page={kit.page(c)} title={title}>
        <p>{text}</p>
        <p>
          <a href={`${base}/`}>Back to the overview</a>
        </p>
      </Layout>,
      status,
    )

  app.use('*', async (c, next) => {
    await next()
    for (const [name, value] of Object.entries(CONSOLE_HEADERS)) c.res.headers.set(name, value)
  })
  app.onError((error, c) => {
    if (error instanceof FormError || error instanceof ValidationError)
      return page(c, 'That did not work', error.message, 400)
    if (error instanceof NotFoundError) return page(c, 'Not found', error.message, 404)
    console.error('[flexsecure console] request failed', c.req.method, c.req.routePath, error)
    return page(c, 'Something went wrong', 'The server could not complete the request. Try again.', 500)
  })
  app.notFound((c) => page(c, 'Not found', 'There is no page here.', 404))

  app.get(`${base}/assets/:file`, (c) => {
    const file =
      c.req.param('file') === 'console.css'
        ? files.css
        : c.req.param('file') === 'console.js'
          ? files.js
          : null
    if (!file) return c.notFound()
    return new Response(file.body, {
      headers: { 'content-type': file.type, 'cache-control': 'public, max-age=31536000, immutable' },
    })
  })

  // Every change: never from another site, and (past sign-in) with the session's CSRF token.
  app.use(`${base}/*`, async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && c.req.header('sec-fetch-site') === 'cross-site')
      return page(c, 'Refused', 'Changes cannot come from another site.', 403)
    await next()
  })

  signInRoutes(app, kit)

  app.use(`${base}/*`, async (c, next) => {
    const token = readCookie(c, cookies.session) ?? null
    const session = token ? await sessions.resolve(token) : null
    const read = c.req.method === 'GET' || c.req.method === 'HEAD'
    if (!session || !token) {
      if (read) {
        // The whole address, filters included, so a deep link survives the sign-in.
        const { pathname, search } = new URL(c.req.url)
        return kit.redirect(c, `${base}/sign-in?next=${encodeURIComponent(pathname + search)}`)
      }
      return page(c, 'Signed out', 'Your session has ended. Sign in again to make changes.', 401)
    }
    c.set('session', session)
    c.set('token', token)
    c.set('csrf', tokens.csrf(token))
    c.set('account', options.engine.account(session.accountId, { actor: consoleActor(session) }))
    if (!read) {
      const presented = c.req.header('x-csrf-token') ?? (await kit.form(c)).get('_csrf')
      if (!tokens.matches(tokens.csrf(token), presented))
        return page(c, 'Refused', 'This form has expired. Reload the page and try again.', 403)
      const path = new URL(c.req.url).pathname.slice(base.length)
      if (session.role !== 'admin' && !VIEWER_MAY.has(path))
        return page(c, 'Not allowed', 'Your role (viewer) can look but not change anything.', 403)
    }
    await next()
  })
  app.get(base, (c) => kit.redirect(c, `${base}/`))

  overviewRoutes(app, kit)
  systemRoutes(app, kit)
  userRoutes(app, kit)
  auditRoutes(app, kit)
  deliveryRoutes(app, kit)
  keyRoutes(app, kit)
  settingsRoutes(app, kit)
  sessionRoutes(app, kit)

  return {
    available: true,
    unavailable: null,
    fetch: async (request, connection) => app.fetch(request, { connection }),
    async maintain() {
      const swept = await sessions.sweep()
      let counted = 0
      for (const account of await options.engine.accounts.list())
        counted += (await options.engine.account(account.id).stats.countLogins(100_000)).counted
      return { sessions: swept, counted }
    },
  }
}

/** Cookies set on the context (setCookie) travel on a response built apart from it. */
function carryCookies(c: Context, response: Response): Response {
  for (const cookie of c.res.headers.getSetCookie()) response.headers.append('set-cookie', cookie)
  return response
}

/** URL-encoded form fields, refused over 64 KiB (S30) or with another content type. */
async function readForm(request: Request): Promise<Form> {
  const type = request.headers.get('content-type') ?? ''
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type))
    throw new FormError([{ field: 'body', message: 'the form must be sent URL-encoded' }])
  if (Number(request.headers.get('content-length') ?? 0) > MAX_FORM_BYTES)
    throw new FormError([{ field: 'body', message: 'the form is too large' }])
  const reader = request.body?.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>
    try {
      chunk = reader ? await reader.read() : { done: true, value: undefined }
    } catch {
      // The client went away mid-body, or sent bytes its framing does not allow: its fault, not ours (S29).
      throw new FormError([{ field: 'body', message: 'the form could not be read' }])
    }
    if (chunk.done) break
    size += chunk.value.byteLength
    if (size > MAX_FORM_BYTES) {
      await reader?.cancel()
      throw new FormError([{ field: 'body', message: 'the form is too large' }])
    }
    chunks.push(chunk.value)
  }
  const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
  return {
    get: (name) => params.get(name) ?? undefined,
    all: (name) => params.getAll(name),
    has: (name) => params.has(name),
  }
}

/** The console of a storage that cannot host it: every page says why, and the server says so at startup. */
function unavailableConsole(reason: string): ConsoleHandler {
  const text = `The administration console is not available on this server: ${reason}.`
  return {
    available: false,
    unavailable: reason,
    fetch: async () =>
      new Response(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Console unavailable</title></head><body><main><h1>Console unavailable</h1><p>${text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)}</p></main></body></html>`,
        { status: 503, headers: { 'content-type': 'text/html; charset=utf-8', ...CONSOLE_HEADERS } },
      ),
    maintain: async () => ({ sessions: 0, counted: 0 }),
  }
}
