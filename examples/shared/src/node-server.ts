import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Engine } from '@flexsecure/core'
import { scheduleDueWork } from './due-work.js'
import type { RunningApp } from './sign-in-app.js'

/**
 * Serves a Node request listener (an Express app) on `port`, and runs the engine's periodic work
 * until `close`, which stops the work first, then the listener.
 */
export async function serveListener(
  listener: RequestListener,
  options: {
    readonly port: number
    readonly host?: string
    readonly engine: Pick<Engine, 'runDue' | 'deliverDue'>
    readonly dueWork?: Parameters<typeof scheduleDueWork>[1]
  },
): Promise<RunningApp> {
  const server = createServer(listener)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '127.0.0.1', resolve)
  })
  const due = scheduleDueWork(options.engine, options.dueWork)
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await due.stop()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    },
  }
}
