import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { RunningApp } from './sign-in-app.js'

/** Serves a Node request listener (an Express app) on `port` until `close`. */
export async function serveListener(
  listener: RequestListener,
  options: {
    readonly port: number
    readonly host?: string
  },
): Promise<RunningApp> {
  const server = createServer(listener)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    },
  }
}
