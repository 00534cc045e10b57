import type { Server } from 'node:http'

/**
 * S30 at the socket. A request whose body the handler left unread (refused as too large, or never
 * needed) is drained by `@hono/node-server` for at most 500 ms or 64 MiB, then its socket is closed.
 * But when the answer is the connection's last (the client sent `Connection: close`), node:http closes
 * the socket as soon as the answer is written, with the client's bytes still arriving: the kernel then
 * resets the connection, and the client may never read its 413. So such a socket is only half-closed
 * (the answer goes out, the rest is drained) and destroyed `graceMs` later.
 */
export function closeUnreadBodies(server: Server, graceMs = 1000): void {
  server.on('request', (request, response) => {
    // Prepended: node:http's own 'finish' handler, which closes a last answer's socket, runs after it.
    response.prependOnceListener('finish', () => {
      if (request.complete) return
      const socket = request.socket
      const timer = setTimeout(() => socket.destroy(), graceMs)
      timer.unref()
      let last = false
      // destroySoon() ends the socket and destroys it once the answer is written: only end it here.
      socket.destroySoon = () => {
        last = true
        socket.end()
      }
      request.once('end', () => {
        Reflect.deleteProperty(socket, 'destroySoon')
        if (!last) clearTimeout(timer)
      })
      socket.once('close', () => clearTimeout(timer))
    })
  })
}
