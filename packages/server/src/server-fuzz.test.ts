import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { captureNotifier } from '@flexsecure/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FuzzWorld, GeneratedRequest } from '../../http/test/fuzz-requests.js'
import { fuzzSeed, prepareWorld, runFuzz, summary } from '../../http/test/fuzz-run.js'
import { testServerConfig } from '../test/server-config.js'
import { type RunningServer, startServer } from './server.js'

// The fuzz test's share through the real listener (node:http, @hono/node-server, the server's own
// hooks): the same generated requests as packages/http/src/http-fuzz.test.ts, sent over sockets on
// kept-alive connections, GETs with bodies included (a web-standard Request cannot carry those).
// The server's clock is the system's, so the requests' time steps are skipped here.

const SECRET = 's'.repeat(40)
const RUNS = Number(process.env.FLEXSECURE_FUZZ_LISTENER_RUNS ?? 1_000)

let dir: string
let server: RunningServer
let world: FuzzWorld
const agent = new Agent({ keepAlive: true, maxSockets: 1 })

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-fuzz-'))
  const notifier = captureNotifier()
  server = await startServer(testServerConfig(join(dir, 'db.sqlite'), { secret: SECRET }), notifier)
  const { id } = await server.engine.accounts.create({
    name: 'Acme',
    settings: { sendLimits: { resendCooldownSeconds: 0 } },
  })
  const acme = server.engine.account(id)
  await acme.systems.create({
    name: 'payroll',
    policies: { passwordless: { enabled: true }, pin: { enabled: true } },
  })
  await acme.users.create({ authid: 'alice', email: 'alice@example.com', phone: '+14155552671' })
  world = await prepareWorld(server.engine, acme, SECRET, () => notifier.last().token as string)
}, 30_000)
afterAll(async () => {
  agent.destroy()
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

/**
 * Sends a generated request over a kept-alive socket, with the true length of its body: node:http's
 * client sends a GET's or DELETE's body unframed otherwise, and the server rightly reads it as the
 * start of the next request.
 */
function send(generated: GeneratedRequest): Promise<number> {
  const { hostname, port } = new URL(server.url)
  const body = generated.body === undefined ? undefined : Buffer.from(generated.body)
  const { 'content-length': _declared, ...given } = generated.headers
  const headers = body ? { ...given, 'content-length': String(body.length) } : given
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname, port, agent, method: generated.method, path: generated.path, headers },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('the real listener under generated requests', () => {
  it(`never answers 5xx to ${RUNS.toLocaleString('en')} of them, and keeps serving`, async () => {
    const seed = fuzzSeed('listener fuzz')
    const stats = await runFuzz({ world, seed, runs: RUNS, send, advance: () => {} })
    console.log(`listener fuzz: ${summary(stats)}`)
    expect(stats.failures).toEqual([])
    expect(stats.validAnswered / stats.total).toBeGreaterThan(1 / 3)
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
  }, 120_000)
})
