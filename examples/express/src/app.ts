import {
  COOKIES,
  crossSitePage,
  endedMessage,
  isCrossSite,
  nextLocation,
  PAGE_HEADERS,
  type PollOutcome,
  RETURN_PATH,
  type RunningApp,
  requestContext,
  SCRIPT_HEADERS,
  type ServeOptions,
  type SignInAppOptions,
  serveListener,
  signedInPage,
  signInPage,
  signInParts,
  toNodeListener,
  WAITING_SCRIPT,
  WAITING_SCRIPT_PATH,
  waitingPage,
} from '@flexsecure/example-shared'
import cookieParser from 'cookie-parser'
import express, { type Request, type Response } from 'express'

/** The Express app: sign-in form, waiting page, signed-in page, sign-out, and FlexSecure's link pages. */
export function createApp(options: SignInAppOptions): express.Express {
  const { flow, linkPages } = signInParts(options)
  const app = express()
  app.disable('x-powered-by')
  const cookie = (maxAgeSeconds: number) => ({
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: options.secureCookies ?? false,
    path: '/',
    maxAge: maxAgeSeconds * 1000, // Express counts milliseconds
  })
  const context = (req: Request) => requestContext(req.ip, req.get('user-agent'))
  const html = (res: Response, body: string, status = 200) => res.status(status).set(PAGE_HEADERS).send(body)

  // The link in the user's email points here (links.baseUrl is this app's URL). Mounted before any body
  // parser: the pages read their own form.
  app.all('/v1/links/:token', toNodeListener(linkPages))

  app.use(cookieParser())
  app.use((req, res, next) => {
    if (req.method === 'POST' && isCrossSite(req.get('origin'), req.get('host')))
      return html(res, crossSitePage(), 403)
    next()
  })
  app.get(WAITING_SCRIPT_PATH, (_req, res) => res.set(SCRIPT_HEADERS).send(WAITING_SCRIPT))

  app.get('/', (req, res) => {
    const user = flow.user(req.cookies[COOKIES.session.name])
    if (!user) return res.redirect(303, '/login')
    html(res, signedInPage(user.authid))
  })

  app.get('/login', (req, res) => html(res, signInPage({ message: endedMessage(req.query.ended) })))

  app.post('/login', express.urlencoded({ extended: false }), async (req, res) => {
    const authid: unknown = req.body?.authid
    const outcome = await flow.begin(authid, context(req))
    if (outcome.kind === 'refused')
      return html(
        res,
        signInPage({ message: outcome.message, authid: typeof authid === 'string' ? authid : '' }),
        outcome.status,
      )
    res.cookie(COOKIES.pending.name, outcome.pending, cookie(COOKIES.pending.maxAgeSeconds))
    res.redirect(303, '/login/wait')
  })

  /** One `check` for this browser's login, with the cookies it leads to. */
  const poll = async (req: Request, res: Response): Promise<PollOutcome> => {
    const outcome = await flow.poll(req.cookies[COOKIES.pending.name], context(req))
    if (outcome.kind === 'signed-in')
      res.cookie(COOKIES.session.name, outcome.session, cookie(COOKIES.session.maxAgeSeconds))
    if (outcome.kind !== 'waiting') res.clearCookie(COOKIES.pending.name, { path: COOKIES.pending.path })
    return outcome
  }

  // The waiting page (and its no-script fallback): shows the match code until the login ends.
  app.get('/login/wait', async (req, res) => {
    const outcome = await poll(req, res)
    if (outcome.kind === 'waiting') return html(res, waitingPage(outcome))
    res.redirect(303, nextLocation(outcome) ?? '/login')
  })

  // What the waiting page's script asks every 2 seconds.
  app.get('/login/status', async (req, res) => {
    const outcome = await poll(req, res)
    res.set('cache-control', 'no-store')
    res.json(
      outcome.kind === 'waiting'
        ? { state: 'waiting', note: outcome.note }
        : { location: nextLocation(outcome) },
    )
  })

  app.post('/logout', (req, res) => {
    flow.signOut(req.cookies[COOKIES.session.name])
    res.clearCookie(COOKIES.session.name, { path: COOKIES.session.path })
    res.redirect(303, '/login')
  })

  // Same device: the link's page sends the browser that confirmed it here with `?code=…`; the code is
  // redeemed on this back end, once, and this browser gets the app's own session.
  app.get(RETURN_PATH, async (req, res) => {
    const outcome = await flow.complete(req.query.code)
    if (outcome.kind === 'signed-in')
      res.cookie(COOKIES.session.name, outcome.session, cookie(COOKIES.session.maxAgeSeconds))
    res.set('cache-control', 'no-store').redirect(303, nextLocation(outcome) ?? '/login')
  })

  return app
}

/** Listens until `close`; the engine runs its periodic work on its own timers. */
export function serve(options: ServeOptions): Promise<RunningApp> {
  return serveListener(createApp(options), options)
}
