import { type Outgoing, type Reply, type Transport, unexpectedReply } from './transport.js'
import type { CallOptions } from './types.js'

// How the admin and operator calls read their replies: a 2xx JSON object, an array under a key, null
// for FlexSecure's 404, nothing (204), or text. Anything else throws `FlexSecureHttpError`.

const ok = (reply: Reply) => reply.status >= 200 && reply.status < 300
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
/** FlexSecure's own 404 (`{ result: 'not found' }`), not a proxy's or a wrong base URL's. */
export const isNotFound = (reply: Reply) =>
  reply.status === 404 && isObject(reply.body) && reply.body.result === 'not found'

/** A Date as ISO 8601; a string or nothing as given. */
export const iso = (value: Date | string | undefined) => (value instanceof Date ? value.toISOString() : value)

/** The calls one transport makes. */
export function calls(transport: Transport) {
  const describe = (request: Outgoing) => `${request.method} ${request.path}`
  const send = async (request: Outgoing, accept: (reply: Reply) => boolean) => {
    const reply = await transport(request)
    if (accept(reply)) return reply
    throw unexpectedReply(describe(request), reply)
  }
  return {
    /** A 2xx body that is an object. */
    object: async <T>(request: Outgoing): Promise<T> =>
      (await send(request, (reply) => ok(reply) && isObject(reply.body))).body as T,
    /** The array a 2xx body holds under `key` (`{ "systems": [...] }`). */
    list: async <T>(request: Outgoing, key: string): Promise<T[]> => {
      const reply = await send(
        request,
        (r) => ok(r) && isObject(r.body) && Array.isArray((r.body as Record<string, unknown>)[key]),
      )
      return (reply.body as Record<string, T[]>)[key] as T[]
    },
    /** A 2xx object, or null for FlexSecure's 404. */
    maybe: async <T>(request: Outgoing): Promise<T | null> => {
      const reply = await send(request, (r) => (ok(r) && isObject(r.body)) || isNotFound(r))
      return isNotFound(reply) ? null : (reply.body as T)
    },
    /** A 2xx with nothing to say (204); true, or false for FlexSecure's 404 when `missing` allows it. */
    done: async (request: Outgoing, missing = false): Promise<boolean> => {
      const reply = await send(request, (r) => ok(r) || (missing && isNotFound(r)))
      return ok(reply)
    },
    /** A 2xx body as text. */
    text: async (request: Outgoing): Promise<string> =>
      (await send({ ...request, expect: 'text' }, (r) => ok(r) && typeof r.body === 'string')).body as string,
  }
}

/** The signal of per-call options. */
export const signalOf = (options: CallOptions | undefined) => options?.signal
