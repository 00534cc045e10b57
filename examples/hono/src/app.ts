import {
  COOKIES,
  endedMessage,
  type LoginFlow,
  nextLocation,
  PAGE_HEADERS,
  type PollOutcome,
  RETURN_PATH,
  type RunningApp,
  requestContext,
  SCRIPT_HEADERS,
  type ServeOptions,
  type SignInAppOptions,
  signedInPage,
  signInPage,
  signInParts,
  WAITING_SCRIPT,
  WAITING_SCRIPT_PATH,
  waitingPage,
} from '@flexsecure/example-shared'
import { type ServerType, serve as serveNode } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { type Context, Hono } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { csrf } from 'hono/csrf'

/** The Hono app over the engine in process: sign-in form, waiting page, signed-in page, sign-out, link pages. */
export function createApp(options: SignInAppOptions): Hono {
  return createSignInApp({ ...signInParts(options), secureCookies: options.secureCookies ?? false })
}

/**
 * The app's routes over any login flow: the engine in process (`createApp`), or a FlexSecure server
 * through `@flexsecure/client` (examples/client). `linkPages` is null when the server serves them.
 */
export function createSignInApp(options: {
  readonly flow: LoginFlow
  readonly linkPages:
    | ((request: Request, connection?: { remoteAddress?: string }) => Promise<Response>)
    | null
  readonly secureCookies: boolean
}): Hono {
  const { flow, linkPages } = options
  const app = new Hono()
  const cookie = (maxAge: number) => ({
    httpOnly: true,
    sameSite: 'Lax' as const,
    secure: options.secureCookies,
    path: '/',
    maxAge,
  })
  const address = (c: Context) => getConnInfo(c).remote.address
  const context = (c: Context) => requestContext(address(c), c.req.header('user-agent'))

  // The link in the user's email points here (links.baseUrl is this app's URL). Both are web-standard
  // handlers, so the request passes through as it is.
  if (linkPages) app.all('/v1/links/:token', (c) => linkPages(c.req.raw, { remoteAddress: address(c) }))

  // Refuses forms posted from another site (login CSRF): Hono compares Origin with the app's own.
  app.use(csrf())
  app.get(WAITING_SCRIPT_PATH, (c) => c.body(WAITING_SCRIPT, 200, SCRIPT_HEADERS))

  app.get('/', (c) => {
    const user = flow.user(getCookie(c, COOKIES.session.name))
    if (!user) return c.redirect('/login', 303)
    return c.html(signedInPage(user.authid), 200, PAGE_HEADERS)
  })

  app.get('/login', (c) =>
    c.html(signInPage({ message: endedMessage(c.req.query('ended')) }), 200, PAGE_HEADERS),
  )

  app.post('/login', async (c) => {
    const { authid } = await c.req.parseBody()
    const outcome = await flow.begin(authid, context(c))
    if (outcome.kind === 'refused')
      return c.html(
        signInPage({ message: outcome.message, authid: typeof authid === 'string' ? authid : '' }),
        outcome.status,
        PAGE_HEADERS,
      )
    setCookie(c, COOKIES.pending.name, outcome.pending, cookie(COOKIES.pending.maxAgeSeconds))
    return c.redirect('/login/wait', 303)
  })

  /** One `check` for this browser's login, with the cookies it leads to. */
  const poll = async (c: Context): Promise<PollOutcome> => {
    const outcome = await flow.poll(getCookie(c, COOKIES.pending.name), context(c))
    if (outcome.kind === 'signed-in')
      setCookie(c, COOKIES.session.name, outcome.session, cookie(COOKIES.session.maxAgeSeconds))
    if (outcome.kind !== 'waiting') deleteCookie(c, COOKIES.pending.name, { path: COOKIES.pending.path })
    return outcome
  }

  // The waiting page (and its no-script fallback): shows the match code until the login ends.
  app.get('/login/wait', async (c) => {
    const outcome = await poll(c)
    if (outcome.kind === 'waiting') return c.html(waitingPage(outcome), 200, PAGE_HEADERS)
    return c.redirect(nextLocation(outcome) ?? '/login', 303)
  })

  // What the waiting page's script asks every 2 seconds.
  app.get('/login/status', async (c) => {
    const outcome = await poll(c)
    c.header('cache-control', 'no-store')
    return c.json(
      outcome.kind === 'waiting'
        ? { state: 'waiting', note: outcome.note }
        : { location: nextLocation(outcome) },
    )
  })

  app.post('/logout', (c) => {
    flow.signOut(getCookie(c, COOKIES.session.name))
    deleteCookie(c, COOKIES.session.name, { path: COOKIES.session.path })
    return c.redirect('/login', 303)
  })

  // Same device: the link's page sends the browser that confirmed it here with `?code=…`; the code is
  // redeemed on this back end, once, and this browser gets the app's own session.
  app.get(RETURN_PATH, async (c) => {
    const outcome = await flow.complete(c.req.query('code'))
    if (outcome.kind === 'signed-in')
      setCookie(c, COOKIES.session.name, outcome.session, cookie(COOKIES.session.maxAgeSeconds))
    c.header('cache-control', 'no-store')
    return c.redirect(nextLocation(outcome) ?? '/login', 303)
  })

  return app
}

/** Serves a Hono app on Node until `close`. */
export async function serveOnNode(
  app: Hono,
  options: { readonly port: number; readonly host?: string },
): Promise<RunningApp> {
  const { server, port } = await new Promise<{ server: ServerType; port: number }>((resolve) => {
    const server = serveNode(
      { fetch: app.fetch, port: options.port, hostname: options.host ?? '127.0.0.1' },
      (info) => resolve({ server, port: info.port }),
    )
  })
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      if ('closeAllConnections' in server) server.closeAllConnections()
      await closed
    },
  }
}

/** Listens on Node until `close`; the engine runs its periodic work on its own timers. */
export function serve(options: ServeOptions): Promise<RunningApp> {
  return serveOnNode(createApp(options), options)
}
