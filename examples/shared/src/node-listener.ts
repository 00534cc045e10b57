import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ConnectionInfo } from '@flexsecure/http'
import { getRequestListener } from '@hono/node-server'

/**
 * A web-standard handler (FlexSecure's link pages) as a `node:http` listener, for frameworks that
 * hand out Node's request and response (Express, Fastify). It reads the body itself, so mount it
 * before any body parser; the connection's address goes along for the audit (S25).
 */
export function toNodeListener(
  handler: (request: Request, connection?: ConnectionInfo) => Promise<Response>,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  return getRequestListener((request, env) =>
    handler(request, { remoteAddress: env.incoming.socket.remoteAddress }),
  )
}
