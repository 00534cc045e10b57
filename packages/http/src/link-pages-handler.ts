import { type ConnectionInfo, createHttpHandler, type HttpHandlerOptions } from './http-handler.js'

// A host that embeds the engine serves the link pages inside its own app (same origin as its sign-in
// form), and nothing else of the API: `/metrics`, `/v1/admin/…` and the OpenAPI document are for
// the operator, not for the host's visitors. This is the full handler behind a path allowlist, so the
// pages a host serves are exactly the ones the server serves.

/** What `createLinkPagesHandler` serves besides the link pages. */
export interface LinkPagesOptions extends HttpHandlerOptions {
  /**
   * Also serve `POST /v1/start`, `POST /v1/check` and `POST /v1/redeem` (still behind an `apikey`), for hosts whose other
   * services call this process over HTTP. Default false: the host calls the engine directly.
   */
  readonly api?: boolean
}

const LINK_PAGE = /^\/v1\/links\/[^/]+$/
const LOGIN_CALLS = new Set(['/v1/start', '/v1/check', '/v1/redeem'])

const notFound = () =>
  new Response('Not Found', {
    status: 404,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  })

/**
 * Only the link pages (`GET` and `POST /v1/links/{token}`), optionally `start` and `check`: what a
 * host mounts in its own app at `links.baseUrl`. Every other path answers 404.
 *
 * ```ts
 * const linkPages = createLinkPagesHandler({ engine, secret })
 * app.all('/v1/links/:token', (c) => linkPages(c.req.raw)) // Hono; Express and Fastify through a Node listener
 * ```
 */
export function createLinkPagesHandler(
  options: LinkPagesOptions,
): (request: Request, connection?: ConnectionInfo) => Promise<Response> {
  const { api = false, ...handlerOptions } = options
  const handler = createHttpHandler(handlerOptions)
  return async (request, connection) => {
    // The parsed URL's path: dot segments are already resolved, so `/v1/links/../metrics` is `/metrics`.
    const path = new URL(request.url).pathname
    if (LINK_PAGE.test(path) || (api && LOGIN_CALLS.has(path))) return handler(request, connection)
    return notFound()
  }
}
