import type { AccountHandle, Clock, Engine } from '@flexsecure/core'
import {
  COOKIES,
  crossSitePage,
  isCrossSite,
  memorySessions,
  PAGE_HEADERS,
  type RunningApp,
  requestContext,
  SCRIPT_HEADERS,
  serveListener,
  toNodeListener,
  WAITING_SCRIPT,
  WAITING_SCRIPT_PATH,
  waitingPage,
} from '@flexsecure/example-shared'
import { createLinkPagesHandler } from '@flexsecure/http'
import cookieParser from 'cookie-parser'
import express, { type Request, type Response } from 'express'
import { exportedPage, homePage, passwordPage, pinPage, stepUpEndedPage } from './pages.js'
import type { PasswordBook } from './passwords.js'
import { createStepUp, type StepUpOutcome } from './step-up.js'

/** The FlexSecure system that guards the app's sensitive actions. */
export const STEP_UP_SYSTEM = 'payroll-export'

/** The engine and account for step-ups, and the app's own password book. */
export interface StepUpAppOptions {
  readonly engine: Engine
  readonly account: AccountHandle
  readonly secret: string
  /** The app's existing users and passwords. */
  readonly passwords: PasswordBook
  readonly secureCookies?: boolean
  readonly clock?: Clock
}

/** An app with its own password login, where exporting the payroll first asks FlexSecure for a step-up. */
export function createApp(options: StepUpAppOptions): express.Express {
  const clock = options.clock
  const now = clock ? () => clock.now() : Date.now
  const sessions = memorySessions(now)
  const stepUp = createStepUp({ account: options.account, system: STEP_UP_SYSTEM, now })
  const app = express()
  app.disable('x-powered-by')
  const context = (req: Request) => requestContext(req.ip, req.get('user-agent'))
  const html = (res: Response, body: string, status = 200) => res.status(status).set(PAGE_HEADERS).send(body)
  /** The session cookie's value and whose it is, or null when signed out. */
  const signedIn = (req: Request) => {
    const id: string | undefined = req.cookies[COOKIES.session.name]
    const user = id ? sessions.get(id) : null
    return id && user ? { id, authid: user.authid } : null
  }
  /** Where a step-up outcome leads: the PIN form, the waiting page, back home to run the action, or why not. */
  const show = (res: Response, outcome: StepUpOutcome, status = 200) => {
    if (outcome.kind === 'pin') return html(res, pinPage(outcome.message), outcome.message ? 400 : status)
    if (outcome.kind === 'link')
      return html(
        res,
        waitingPage({ ...outcome, pollPath: '/step-up/status', continuePath: '/step-up', restartPath: '/' }),
      )
    if (outcome.kind === 'done') return res.redirect(303, '/?verified=1')
    return html(res, stepUpEndedPage(outcome.message), 403)
  }

  // Users whose step-up is a link confirm it on FlexSecure's page, served here (before body parsing).
  app.all(
    '/v1/links/:token',
    toNodeListener(createLinkPagesHandler({ engine: options.engine, secret: options.secret, now })),
  )
  app.use(cookieParser())
  app.use((req, res, next) => {
    if (req.method === 'POST' && isCrossSite(req.get('origin'), req.get('host')))
      return html(res, crossSitePage(), 403)
    next()
  })
  app.use(express.urlencoded({ extended: false }))
  app.get(WAITING_SCRIPT_PATH, (_req, res) => res.set(SCRIPT_HEADERS).send(WAITING_SCRIPT))

  // The existing password login, unchanged by FlexSecure.
  app.get('/login', (_req, res) => html(res, passwordPage()))
  app.post('/login', (req, res) => {
    const authid = options.passwords.verify(req.body?.username, req.body?.password)
    if (!authid) return html(res, passwordPage('Wrong user name or password.'), 401)
    res.cookie(COOKIES.session.name, sessions.create(authid), {
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secureCookies ?? false,
      path: '/',
      maxAge: COOKIES.session.maxAgeSeconds * 1000,
    })
    res.redirect(303, '/')
  })
  app.post('/logout', (req, res) => {
    const session = signedIn(req)
    if (session) {
      sessions.destroy(session.id)
      stepUp.forget(session.id)
    }
    res.clearCookie(COOKIES.session.name, { path: '/' }).redirect(303, '/login')
  })

  app.get('/', (req, res) => {
    const session = signedIn(req)
    if (!session) return res.redirect(303, '/login')
    html(res, homePage(session.authid, stepUp.isFresh(session.id, session.authid)))
  })

  // The protected action: it runs only after a step-up of this session in the last 5 minutes.
  app.post('/export', async (req, res) => {
    const session = signedIn(req)
    if (!session) return res.redirect(303, '/login')
    if (stepUp.isFresh(session.id, session.authid)) return html(res, exportedPage(3))
    const outcome = await stepUp.begin(session.id, session.authid, 'export', context(req))
    if (outcome.kind === 'ended') return show(res, outcome)
    res.redirect(303, '/step-up')
  })

  // The step-up's page: the PIN form, or the waiting page for a link (its no-script fallback polls here).
  app.get('/step-up', async (req, res) => {
    const session = signedIn(req)
    if (!session) return res.redirect(303, '/login')
    show(res, await stepUp.poll(session.id, context(req)))
  })
  app.post('/step-up', async (req, res) => {
    const session = signedIn(req)
    if (!session) return res.redirect(303, '/login')
    show(res, await stepUp.submitPin(session.id, req.body?.pin, context(req)))
  })
  // What the waiting page's script asks every 2 seconds.
  app.get('/step-up/status', async (req, res) => {
    const session = signedIn(req)
    const outcome = session ? await stepUp.poll(session.id, context(req)) : null
    res.set('cache-control', 'no-store')
    if (outcome?.kind === 'link') return res.json({ state: 'waiting', note: outcome.note })
    res.json({ location: outcome?.kind === 'done' ? '/?verified=1' : '/step-up' })
  })

  return app
}

/** Listens until `close`; the engine runs its periodic work on its own timers. */
export function serve(
  options: StepUpAppOptions & { readonly port: number; readonly host?: string },
): Promise<RunningApp> {
  return serveListener(createApp(options), options)
}
