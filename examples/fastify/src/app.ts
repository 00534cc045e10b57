import type { AddressInfo } from 'node:net'
import fastifyCookie from '@fastify/cookie'
import fastifyFormbody from '@fastify/formbody'
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
  signedInPage,
  signInPage,
  signInParts,
  toNodeListener,
  WAITING_SCRIPT,
  WAITING_SCRIPT_PATH,
  waitingPage,
} from '@flexsecure/example-shared'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'

/** The Fastify app: sign-in form, waiting page, signed-in page, sign-out, and FlexSecure's link pages. */
export async function createApp(options: SignInAppOptions): Promise<FastifyInstance> {
  const { flow, linkPages } = signInParts(options)
  const app = Fastify()
  await app.register(fastifyCookie)
  const cookie = (maxAge: number) => ({
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: options.secureCookies ?? false,
    path: '/',
    maxAge, // seconds
  })
  const context = (request: FastifyRequest) => requestContext(request.ip, request.headers['user-agent'])

  // The link in the user's email points here (links.baseUrl is this app's URL). In a context of its own
  // that leaves the body unread: the pages read their own form from the Node request.
  const linkListener = toNodeListener(linkPages)
  await app.register(async (links) => {
    links.removeAllContentTypeParsers()
    links.addContentTypeParser('*', (_request, _payload, done) => done(null))
    links.all('/v1/links/:token', async (request, reply) => {
      reply.hijack()
      await linkListener(request.raw, reply.raw)
    })
  })

  await app.register(async (site) => {
    await site.register(fastifyFormbody)
    // Refuses forms posted from another site (login CSRF).
    site.addHook('onRequest', async (request, reply) => {
      if (request.method === 'POST' && isCrossSite(request.headers.origin, request.headers.host))
        return reply.code(403).headers(PAGE_HEADERS).send(crossSitePage())
    })
    const html = (reply: FastifyReply, body: string, status = 200) =>
      reply.code(status).headers(PAGE_HEADERS).send(body)

    site.get(WAITING_SCRIPT_PATH, (_request, reply) => reply.headers(SCRIPT_HEADERS).send(WAITING_SCRIPT))

    site.get('/', (request, reply) => {
      const user = flow.user(request.cookies[COOKIES.session.name])
      if (!user) return reply.redirect('/login', 303)
      return html(reply, signedInPage(user.authid))
    })

    site.get<{ Querystring: { ended?: string } }>('/login', (request, reply) =>
      html(reply, signInPage({ message: endedMessage(request.query.ended) })),
    )

    site.post<{ Body: { authid?: unknown } }>('/login', async (request, reply) => {
      const authid = request.body?.authid
      const outcome = await flow.begin(authid, context(request))
      if (outcome.kind === 'refused')
        return html(
          reply,
          signInPage({ message: outcome.message, authid: typeof authid === 'string' ? authid : '' }),
          outcome.status,
        )
      reply.setCookie(COOKIES.pending.name, outcome.pending, cookie(COOKIES.pending.maxAgeSeconds))
      return reply.redirect('/login/wait', 303)
    })

    /** One `check` for this browser's login, with the cookies it leads to. */
    const poll = async (request: FastifyRequest, reply: FastifyReply): Promise<PollOutcome> => {
      const outcome = await flow.poll(request.cookies[COOKIES.pending.name], context(request))
      if (outcome.kind === 'signed-in')
        reply.setCookie(COOKIES.session.name, outcome.session, cookie(COOKIES.session.maxAgeSeconds))
      if (outcome.kind !== 'waiting') reply.clearCookie(COOKIES.pending.name, { path: COOKIES.pending.path })
      return outcome
    }

    // The waiting page (and its no-script fallback): shows the match code until the login ends.
    site.get('/login/wait', async (request, reply) => {
      const outcome = await poll(request, reply)
      if (outcome.kind === 'waiting') return html(reply, waitingPage(outcome))
      return reply.redirect(nextLocation(outcome) ?? '/login', 303)
    })

    // What the waiting page's script asks every 2 seconds.
    site.get('/login/status', async (request, reply) => {
      const outcome = await poll(request, reply)
      return reply
        .header('cache-control', 'no-store')
        .send(
          outcome.kind === 'waiting'
            ? { state: 'waiting', note: outcome.note }
            : { location: nextLocation(outcome) },
        )
    })

    site.post('/logout', (request, reply) => {
      flow.signOut(request.cookies[COOKIES.session.name])
      reply.clearCookie(COOKIES.session.name, { path: COOKIES.session.path })
      return reply.redirect('/login', 303)
    })

    // Same device: the link's page sends the browser that confirmed it here with `?code=…`; the code
    // is redeemed on this back end, once, and this browser gets the app's own session.
    site.get<{ Querystring: { code?: string } }>(RETURN_PATH, async (request, reply) => {
      const outcome = await flow.complete(request.query.code)
      if (outcome.kind === 'signed-in')
        reply.setCookie(COOKIES.session.name, outcome.session, cookie(COOKIES.session.maxAgeSeconds))
      return reply.header('cache-control', 'no-store').redirect(nextLocation(outcome) ?? '/login', 303)
    })
  })
  return app
}

/** Listens until `close`; the engine runs its periodic work on its own timers. */
export async function serve(options: ServeOptions): Promise<RunningApp> {
  const app = await createApp(options)
  await app.listen({ port: options.port, host: options.host ?? '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await app.close()
    },
  }
}
