// The server processes of `http-poll.bench.ts`, each forked from it with a role argument (`server`, `floor`
// or `slowed`) and a temporary directory, so that no server shares an event loop with the load generator.
// See README.md, "HTTP polls".

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderJsxWithoutAsyncContext } from '@flexsecure/console'
import type { Notifier } from '@flexsecure/core'
import { startServer } from '@flexsecure/server'
import { benchServerConfig, LIFTED_SEND_LIMITS, setting } from './bench-settings.js'

export const USERS = setting('BENCH_HTTP_USERS', 200)
/** The server's database: a SQLite file in the temporary directory unless this names a URL (PostgreSQL). */
const DATABASE = process.env.BENCH_HTTP_DATABASE || null
/** The slowed floor's busy wait a poll, µs: about what the server spends beyond the floor. 0 leaves it out. */
export const SLOWED_US = process.env.BENCH_HTTP_SLOWED_US === '0' ? 0 : setting('BENCH_HTTP_SLOWED_US', 50)
export const SYSTEM = 'app'
/** This file, for the bench to fork. */
export const SERVERS_FILE = fileURLToPath(import.meta.url)

/** What a server process tells this one once it listens and its data is in place. */
export interface Ready {
  readonly url: string
  /** The `apikey` header to send. */
  readonly key: string
  readonly users: readonly string[]
}

export type Side = 'floor' | 'server' | 'slowed'

/** Tells the parent where to send load, then serves until it says `stop` (or goes away). */
function serveUntilStopped(ready: Ready, close: () => Promise<void>): void {
  let closing = false
  const stop = () => {
    if (closing) return
    closing = true
    close()
      .catch((error) => {
        console.error('[bench] server process: close failed', error)
        process.exitCode = 1
      })
      // Exiting on its own (no process.exit) lets --cpu-prof write its profile.
      .finally(() => process.disconnect?.())
  }
  process.on('message', (message) => {
    if (message === 'stop') stop()
    // CPU time this process has used so far, µs: the parent asks before and after each run.
    else if (message === 'cpu') {
      const { user, system } = process.cpuUsage()
      process.send?.({ cpu: user + system, user })
    }
  })
  process.on('disconnect', stop)
  process.send?.(ready)
}

/** The real server, with the data every poll needs: one pending passwordless challenge per user. */
async function serveEngine(dir: string): Promise<void> {
  const notifier: Notifier = { send: async () => ({ providerId: null }) }
  // As `flexsecure serve` does before it starts the server (its console's pages and promise hooks).
  renderJsxWithoutAsyncContext()
  const server = await startServer(
    benchServerConfig(DATABASE ?? join(dir, 'bench.db')),
    notifier,
    // The bench measures polls, not the poll limiter's 429s (S19): lift it far above the load.
    { throttle: false },
  )
  const { engine } = server
  // Nor the send limits (S18), which the seeding starts would otherwise meet.
  const { id } = await engine.accounts.create({
    name: 'Bench',
    settings: { sendLimits: LIFTED_SEND_LIMITS },
  })
  const account = engine.account(id)
  const { key } = await account.apiKeys.create({ name: 'bench', scopes: ['auth'] })
  await account.systems.create({ name: SYSTEM, policies: { passwordless: { enabled: true } } })
  const users: string[] = []
  for (let i = 0; i < USERS; i++) {
    const authid = `u${i}`
    await account.users.create({ authid, email: `${authid}@example.com` })
    await account.users.assign(authid, [{ system: SYSTEM, method: 'passwordless' }])
    const started = await account.start({ system: SYSTEM, authid })
    if (started.result !== 'success')
      throw new Error(`seeding: start for ${authid} answered ${started.result}`)
    users.push(authid)
  }
  // A server in use has had its console opened: one page, as an administrator's visit would render it.
  const page = await fetch(`${server.url}/console/sign-in`)
  if (page.status !== 200) throw new Error(`the console's sign-in page answered ${page.status}`)
  await page.text()
  serveUntilStopped({ url: server.url, key, users }, () => server.close())
}

/**
 * The floor: read the body, JSON.parse it, answer 202 with a pending answer of the same shape. `busyUs`:
 * a busy wait before each answer (the slowed floor), on the event loop as the engine's work would be.
 */
async function serveFloor(busyUs = 0): Promise<void> {
  // 24 characters, like the engine's challenge ids.
  const challengeId = 'AAAAAAAAAAAAAAAAAAAAAAAA'
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        system?: unknown
        authid?: unknown
      }
      if (typeof body.system !== 'string' || typeof body.authid !== 'string') {
        response.writeHead(400).end()
        return
      }
      if (busyUs > 0) {
        const until = performance.now() + busyUs / 1000
        while (performance.now() < until) {}
      }
      const text = JSON.stringify({ result: 'pending', challengeId, method: 'passwordless' })
      // The server's headers: content-type and cache-control, then node's date, connection and keep-alive.
      response.writeHead(202, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        'content-length': Buffer.byteLength(text),
      })
      response.end(text)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const users = Array.from({ length: USERS }, (_, i) => `u${i}`)
  serveUntilStopped({ url: `http://127.0.0.1:${port}`, key: 'floor', users }, async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeIdleConnections()
    await closed
  })
}

const [role, dir] = process.argv.slice(2)
if (process.argv[1] === SERVERS_FILE) {
  if (role === 'server') await serveEngine(dir as string)
  else if (role === 'floor') await serveFloor()
  else if (role === 'slowed') await serveFloor(SLOWED_US)
  else throw new Error(`http-poll-servers: unknown role ${role}`)
}
