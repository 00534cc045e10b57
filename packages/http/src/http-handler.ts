import {
  type AccountHandle,
  type CheckResult,
  ConflictError,
  type Engine,
  isLinkTokenShape,
  type KeyIdentity,
  NotFoundError,
  type Scope,
  type StartResult,
  ValidationError,
} from '@flexsecure/core'
import { type Context, Hono } from 'hono'
import { adminRoutes } from './admin-routes.js'
import { insightRoutes } from './insight-routes.js'
import { readJson } from './json-body.js'
import { invalidKey } from './key-refusal.js'
import {
  badFormPage,
  completionRedirect,
  confirmPage,
  deadEndPage,
  formTokens,
  LINK_PAGE_HEADERS,
  linkPageHeaders,
  MAX_FORM_BYTES,
  outcomePage,
} from './link-pages.js'
import { metrics as createMetrics } from './metrics.js'
import { openApiDocument } from './openapi.js'
import { type OperatorOptions, operatorRoutes } from './operator-routes.js'
import {
  BadRequest,
  type ConnectionInfo,
  declaredLength,
  MAX_BODY_BYTES,
  readBodyText,
  tooLarge,
} from './request-body.js'
import { CheckBody, PinAfterLogin, RedeemBody, StartBody } from './schemas.js'

export interface HttpHandlerOptions extends OperatorOptions {
  readonly engine: Engine
  /** The engine's secret: keys the link pages' form tokens. */
  readonly secret: string
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number
  /**
   * Behind a reverse proxy: take the confirming browser's address from the last `X-Forwarded-For`
   * entry (the one the proxy added) instead of the connection's. Default false.
   */
  readonly trustProxy?: boolean
}

export type { ConnectionInfo }

type Env = {
  Bindings: { connection?: ConnectionInfo }
  Variables: { identity: KeyIdentity; account: AccountHandle }
}

const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  })

/** A dotted IPv4 address or an IPv6 one (hex groups, colons, maybe an IPv4 tail): the shapes a proxy writes. */
const looksLikeIp = (value: string) =>
  /^(\d{1,3}\.){3}\d{1,3}$/.test(value) || (/^[0-9a-f:.]{2,45}$/i.test(value) && value.includes(':'))

const retryAfterSeconds = (until: number, now: number) => String(Math.max(1, Math.ceil((until - now) / 1000)))

/**
 * FlexSecure's HTTP API (docs/architecture.md, "The HTTP layer") as a web-standard handler: `POST /v1/start`,
 * `POST /v1/check`, the link pages, `/v1/admin/…`, `/v1/openapi.json`, `/healthz`, `/readyz`, `/metrics`
 * and `/v1/operator/…`.
 *
 * ```ts
 * const handler = createHttpHandler({ engine, secret })
 * const response = await handler(new Request('https://auth.example.com/healthz'))
 * ```
 */
export function createHttpHandler(
  options: HttpHandlerOptions,
): (request: Request, connection?: ConnectionInfo) => Promise<Response> {
  const { app, answerCheck, failed } = buildHttp(options)
  // `POST /v1/check`, the request a host sends most, is answered before Hono routes anything.
  return async (request, connection) => {
    if (request.method === 'POST' && pathOf(request.url) === '/v1/check')
      return answerCheck(request, connection).catch((error: unknown) => failed(error, 'POST', '/v1/check'))
    return app.fetch(request, { connection })
  }
}

/**
 * The path of an absolute URL, without parsing the rest of it (as Hono's router reads it): what a hot
 * path (a poll) routes on, for a fraction of `new URL`'s cost.
 */
export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3)
  if (start < 0) return '/'
  const query = url.indexOf('?', start)
  return query < 0 ? url.slice(start) : url.slice(start, query)
}

/** The Hono app behind `createHttpHandler`; its routes are the contract's (`contract/routes.ts`). */
export function createHttpApp(options: HttpHandlerOptions): Hono<Env> {
  return buildHttp(options).app
}

function buildHttp(options: HttpHandlerOptions) {
  const { engine } = options
  const now = options.now ?? Date.now
  const counters = createMetrics(engine)
  const forms = formTokens(options.secret)
  const openapi = JSON.stringify(openApiDocument())
  const app = new Hono<Env>()

  /**
   * The browser's address: the connection's, or behind a trusted proxy the address the proxy appended
   * (the last entry; the ones before it are whatever the client sent). Only an IP address is taken from
   * the header: anything else there did not come from a proxy, and the connection's address is kept.
   */
  const clientAddress = (request: Request, connection: ConnectionInfo | undefined) => {
    if (options.trustProxy) {
      const forwarded = request.headers.get('x-forwarded-for')?.split(',').at(-1)?.trim()
      if (forwarded && looksLikeIp(forwarded)) return forwarded
    }
    return connection?.remoteAddress
  }

  /** A request refused before the engine: 400, 413 or 415 with what is wrong. */
  const refuse = (error: BadRequest) =>
    json(
      { result: 'bad request', error: error.message, ...(error.field ? { field: error.field } : {}) },
      error.status,
    )

  /** Any error a route throws, as its answer; `route` is the pattern, never the path (S26). */
  const failed = (error: unknown, method: string, route: string) => {
    if (error instanceof BadRequest) return refuse(error)
    if (error instanceof ConflictError)
      return json({ result: 'conflict', error: error.message, field: error.field }, 409)
    if (error instanceof ValidationError)
      return json({ result: 'bad request', error: error.message, field: error.field }, 400)
    if (error instanceof NotFoundError) return json({ result: 'not found', error: error.message }, 404)
    // The route's pattern, not its path: a link page's path holds its token (S26).
    console.error('[flexsecure] request failed', method, route, error)
    return json({ result: 'error', error: 'the server could not complete the request' }, 500)
  }
  app.onError((error, c) => failed(error, c.req.method, c.req.routePath))
  app.notFound((c) =>
    json({ result: 'not found', error: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404),
  )

  /** The `apikey` header (never the URL, S22) resolved to its account, or the 403 when it is no key for `scope`. */
  const authorize = async (request: Request, scope: Scope) => {
    const identity = await engine.accounts.authenticateKey(request.headers.get('apikey') ?? '', {
      recordUse: false,
    })
    if (!identity) return json(invalidKey(request), 403)
    if (!identity.scopes.includes(scope))
      return json({ result: 'security error', reason: 'forbidden_scope' }, 403)
    return identity
  }
  /** A request refused before the engine (400, 413, 415) changes nothing, not even the key's last use. */
  const recordUse = (identity: KeyIdentity, status: number) =>
    [400, 413, 415].includes(status) ? undefined : engine.accounts.recordKeyUse(identity)

  /** The account's handle acting as this key; built once per key, not on every request. */
  const handles = new Map<string, AccountHandle>()
  const handleFor = (identity: KeyIdentity) => {
    const name = `${identity.account.id}\u0000${identity.keyId}`
    let handle = handles.get(name)
    if (!handle) {
      if (handles.size >= 1000) handles.clear()
      handle = engine.account(identity.account.id, { actor: identity.keyId })
      handles.set(name, handle)
    }
    return handle
  }

  const requireKey = (scope: Scope) => async (c: Context<Env>, next: () => Promise<void>) => {
    const identity = await authorize(c.req.raw, scope)
    if (identity instanceof Response) return identity
    c.set('identity', identity)
    c.set('account', handleFor(identity))
    await next()
    await recordUse(identity, c.res.status)
  }

  // S30: on every route, a body declared over the cap is refused before anything reads it or looks
  // further; streamed bodies are counted where they are read.
  app.use('*', async (c, next) => {
    const declared = declaredLength(c.req.raw)
    if (declared !== null && declared > MAX_BODY_BYTES) return refuse(tooLarge(MAX_BODY_BYTES))
    await next()
  })

  app.get('/healthz', () => json({ status: 'ok' }, 200))
  app.route('/', operatorRoutes(engine, counters, options))
  app.get(
    '/v1/openapi.json',
    () => new Response(openapi, { headers: { 'content-type': 'application/json' } }),
  )

  app.post('/v1/start', requireKey('auth'), async (c) => {
    const body = await readJson(c.req.raw, StartBody, c.env?.connection)
    const answer: StartResult = await c.var.account.start(body, { apiKeyId: c.var.identity.keyId })
    counters.count('starts', answer.result, c.var.identity.account.id)
    if (answer.result === 'rate limited')
      return json(answer, 429, { 'retry-after': retryAfterSeconds(answer.retryAfter.getTime(), now()) })
    return json(answer, answer.result === 'success' ? 200 : 403)
  })

  // The user sets their memorized PIN right after a login (the host forwards it); 204, or 400 naming
  // the field. S23: an `auth` key calls start and check only, so this takes an `admin` key.
  app.post('/v1/pin', requireKey('admin'), async (c) => {
    await c.var.account.users.setPinAfterLogin(await readJson(c.req.raw, PinAfterLogin, c.env?.connection))
    return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } })
  })

  /**
   * `POST /v1/check`, the request a host sends most (every couple of seconds per login in progress). It
   * is answered before Hono routes anything (see the handler's end), so it does here what the
   * middleware above does for the other routes: the declared-length cap, the key, its last use.
   */
  const answerCheck = async (request: Request, connection: ConnectionInfo | undefined) => {
    const declared = declaredLength(request)
    if (declared !== null && declared > MAX_BODY_BYTES) return refuse(tooLarge(MAX_BODY_BYTES))
    const identity = await authorize(request, 'auth')
    if (identity instanceof Response) return identity
    const response = await checkFor(identity, request, connection)
    await recordUse(identity, response.status)
    return response
  }
  const checkFor = async (
    identity: KeyIdentity,
    request: Request,
    connection: ConnectionInfo | undefined,
  ) => {
    const body = await readJson(request, CheckBody, connection)
    // S19 and S31: the engine throttles per key, per account and per login as storage resolved it.
    const answer: CheckResult = await handleFor(identity).check(body, { apiKeyId: identity.keyId })
    counters.count('checks', answer.result, identity.account.id)
    if (answer.result === 'rate limited')
      return json(answer, 429, { 'retry-after': retryAfterSeconds(answer.retryAfter.getTime(), now()) })
    const status = answer.result === 'authenticated' ? 200 : answer.result === 'pending' ? 202 : 403
    return json(answer, status)
  }

  // Reached only when a caller hands Hono the request itself (the handler below answers it first).
  app.post('/v1/check', (c) => answerCheck(c.req.raw, c.env?.connection))

  // Same device: the host's back end spends the completion code its return URL received (auth key).
  app.post('/v1/redeem', requireKey('auth'), async (c) => {
    const { code } = await readJson(c.req.raw, RedeemBody, c.env?.connection)
    const answer = await c.var.account.redeem(code)
    if (answer.result !== 'authenticated') return json(answer, 403)
    const { accountId: _account, ...identity } = answer
    return json(identity, 200)
  })

  const page = ({ html, status }: { html: string; status: number }, headers = LINK_PAGE_HEADERS) =>
    new Response(html, { status, headers })

  // S30: the link pages serve anyone, so a token that cannot be one ends the request before the
  // engine or the body is touched.
  app.get('/v1/links/:token', async (c) => {
    const token = c.req.param('token')
    if (!isLinkTokenShape(token)) return page(deadEndPage('unknown'))
    const view = await engine.links.inspect(token)
    if (view.status !== 'pending') return page(deadEndPage(view.status))
    return page({ html: confirmPage(view, forms.make(token)), status: 200 }, linkPageHeaders(view))
  })

  app.post('/v1/links/:token', async (c) => {
    const token = c.req.param('token')
    if (!isLinkTokenShape(token)) return page(deadEndPage('unknown'))
    const type = c.req.header('content-type') ?? ''
    const form = new URLSearchParams(
      /^application\/x-www-form-urlencoded/i.test(type)
        ? await readBodyText(c.req.raw, MAX_FORM_BYTES, c.env?.connection)
        : '',
    )
    if (!forms.verify(token, form.get('form'))) return page(badFormPage())
    const code = form.get('code') ?? undefined
    // S25: the audit records who confirmed: this browser, not the device that started the login.
    const ip = clientAddress(c.req.raw, c.env?.connection)
    const userAgent = c.req.header('user-agent')
    const result = await engine.links.confirm(token, {
      ...(code !== undefined ? { matchCode: code } : {}),
      ...(ip ? { ip } : {}),
      ...(userAgent ? { userAgent } : {}),
    })
    if (result.result === 'wrong_code') {
      // Ask again while attempts remain; the last wrong code closes the link.
      if (result.final) return page(deadEndPage('closed'))
      const view = await engine.links.inspect(token)
      return page({ html: confirmPage(view, forms.make(token), true), status: 400 }, linkPageHeaders(view))
    }
    // Same device: back to the login's return URL (exactly as the system lists it) with the code.
    if (result.result === 'confirmed' && result.completionUrl) return completionRedirect(result.completionUrl)
    return page(outcomePage(result))
  })

  app.use('/v1/admin/*', requireKey('admin'))
  app.route('/v1/admin', adminRoutes())
  app.route('/v1/admin', insightRoutes())

  return { app, answerCheck, failed }
}
