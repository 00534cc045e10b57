import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { LATE, settledWithin, underWay } from '@flexsecure/core'
import { getRequestListener } from '@hono/node-server'
import { turnBudget } from './turn-budget.js'

/** How long a closing server waits for its connections and requests before it cuts them, in ms. */
export const CLOSE_DEADLINE_MS = 5_000

/**
 * How many requests may be under way at once (waiting at the gate or handled); past it a request is
 * answered 503 unhandled. A client may pipeline any number of requests on one connection and Node hands
 * the server each of them, about 10 KB apiece while they wait: without a bound one connection could fill
 * the heap. At about 1 ms a request this is seconds of work, far past what a host polling every 2 s waits.
 */
export const MAX_UNDER_WAY = 4096

/** What the server answers a request with, given its connection's address (`server.ts`). */
export type Respond = (
  request: Request,
  connection: { remoteAddress?: string; bodyLengthEnforced: boolean },
) => Response | Promise<Response>

/**
 * The server's requests: each request and each answer passes the turn budget (`turn-budget.ts`), so one
 * turn of the event loop does not carry every request of a burst; a request whose client went away while
 * it waited is not handled; and the requests under way are counted, so that a closing server lets them
 * end before the engine closes under them, and bounded (`MAX_UNDER_WAY`). Once closing, every answer asks
 * its client to close the connection, so a host polling on a kept-alive connection cannot hold the close
 * open.
 */
export function gatedRequests(respond: Respond, turnBudgetMs?: number, maxUnderWay = MAX_UNDER_WAY) {
  const gate = turnBudget(turnBudgetMs)
  let closing = false
  const requests = underWay()
  const listener = getRequestListener((request, env) => {
    // node:http's (the server is an HTTP/1.1 `createServer`), not HTTP/2's.
    const incoming = env.incoming as IncomingMessage
    const outgoing = env.outgoing as ServerResponse
    // Once closing, a request that arrives (pipelined on a connection, say) is not taken on: the engine is
    // about to close, and a client told to come back goes to an instance that stays.
    if (closing) return unavailable(outgoing, 'the server is stopping; try again')
    // Too much under way: answered at once, and the connection closed after the answer, so that the rest
    // of a pipelined flood on it is dropped unread.
    if (requests.count >= maxUnderWay) return unavailable(outgoing, 'the server is busy; try again')
    const connection = { remoteAddress: incoming.socket.remoteAddress, bodyLengthEnforced: true }
    // Nobody reads the answer of a client that went away while its request waited: no work is done for
    // it (a start would send a message that no one waits for). 499: nginx's "client closed request".
    const handle = () =>
      incoming.socket.destroyed ? new Response(null, { status: 499 }) : respond(request, connection)
    // Checked once the answer leaves the gate: the close may have begun while it waited there.
    const send = (response: Response) => {
      if (closing && !outgoing.headersSent) outgoing.setHeader('Connection', 'close')
      return response
    }
    const answer = (response: Response) => gate('answer')?.then(() => send(response)) ?? send(response)
    const waiting = gate('request')
    return requests.track((waiting ? waiting.then(handle) : Promise.resolve(handle())).then(answer))
  })
  return {
    listener,
    /** How many requests wait at the gate or are handled now. */
    get underWay(): number {
      return requests.count
    },
    /**
     * Closes `server`: no new connections, idle ones closed at once, busy ones once their answer is written
     * (or at `deadlineMs`, cut: a client that never finishes its request, a flood); resolves once every
     * request under way has ended, or at the deadline.
     */
    async close(server: Server, deadlineMs: number = CLOSE_DEADLINE_MS): Promise<void> {
      closing = true
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      // A connection whose answer went out kept-alive (its headers written before the close began, as a
      // streamed export's are) is closed once it is idle: looked for every 50 ms rather than watched on
      // every request, which would cost every poll a listener.
      const sweep = setInterval(() => server.closeIdleConnections(), 50)
      // Once every connection is gone no request can arrive; until then the count may rise again.
      const drained = (async () => {
        await closed
        while (requests.count > 0) await requests.idle()
      })()
      try {
        if ((await settledWithin(drained, deadlineMs)) === LATE) server.closeAllConnections()
      } finally {
        clearInterval(sweep)
      }
    },
  }
}

/** 503, unhandled, with Retry-After; the connection closed after it. */
function unavailable(outgoing: ServerResponse, error: string): Response {
  outgoing.setHeader('Connection', 'close')
  return Response.json({ result: 'error', error }, { status: 503, headers: { 'retry-after': '1' } })
}
