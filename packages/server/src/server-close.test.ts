import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { captureNotifier } from '@flexsecure/core/testing'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { seedPayroll } from '../test/payroll-seed.js'
import { testServerConfig } from '../test/server-config.js'
import { type RunningServer, type ServerHttpOptions, startServer } from './server.js'

// Closing the server while clients are still there (found by review, 2026-12-06): a client that never
// finishes its request, a host polling on a kept-alive connection, and a burst of requests still waiting
// at the turn budget when their client went away. The close must end, and no request may meet a closed
// engine.

let dir: string
let server: RunningServer | undefined
let key: string
let notifier: ReturnType<typeof captureNotifier>

async function serve(http: ServerHttpOptions) {
  notifier = captureNotifier()
  server = await startServer(testServerConfig(join(dir, 'db.sqlite')), notifier, { throttle: false, ...http })
  key = (await seedPayroll(server.engine, 40)).authKey
  return server
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-close-'))
})
afterEach(async () => {
  vi.restoreAllMocks()
  await server?.close()
  server = undefined
  rmSync(dir, { recursive: true, force: true })
})

/** A raw connection to the server, and everything it has received so far. */
async function rawClient(url: string) {
  const { port } = new URL(url)
  const socket: Socket = connect(Number(port), '127.0.0.1')
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  let received = ''
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1')
  })
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  return { socket, received: () => received, ended }
}

const request = (path: string, body: string, sendBody = true) =>
  `POST ${path} HTTP/1.1\r\nHost: localhost\r\napikey: ${key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${sendBody ? body : ''}`

const poll = JSON.stringify({ system: 'payroll', authid: 'u0' })

/** Milliseconds `close()` took, or Infinity past `limitMs`. */
async function timeClose(running: RunningServer, limitMs: number): Promise<number> {
  const began = performance.now()
  const closed = running.close().then(() => performance.now() - began)
  const late = new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), limitMs))
  return Promise.race([closed, late])
}

describe('closing the server', () => {
  it('cuts a client that never finishes its request at the deadline', async () => {
    const running = await serve({ closeDeadlineMs: 300 })
    const client = await rawClient(running.url)
    // Headers and no body: Node's own request timeouts stop once the server closes.
    client.socket.write(request('/v1/check', poll, false))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await timeClose(running, 3000)).toBeLessThan(3000)
    await client.ended
  })

  it('answers a request under way at the close and asks its kept-alive client to close', async () => {
    const running = await serve({ closeDeadlineMs: 10_000 })
    const client = await rawClient(running.url)
    client.socket.write(request('/v1/start', poll))
    await vi.waitFor(() => expect(client.received()).toMatch(/"result":"success"/))
    expect(client.received()).toMatch(/connection: keep-alive/i)
    // The host's next poll is on its way when the close begins: its body arrives after.
    const before = client.received().length
    client.socket.write(request('/v1/check', poll, false))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const closing = timeClose(running, 3000)
    await new Promise((resolve) => setTimeout(resolve, 50))
    client.socket.write(poll)
    await client.ended
    const answer = client.received().slice(before)
    expect(answer).toMatch(/^HTTP\/1\.1 202/)
    expect(answer).toMatch(/connection: close/i)
    // Well before the deadline: the connection ended with its answer.
    expect(await closing).toBeLessThan(3000)
  })

  it('lets the requests still waiting at the gate end before the engine closes', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    // All but the first request of every stretch of the event loop wait for a later check phase.
    const running = await serve({ turnBudgetMs: 1e-9 })
    const client = await rawClient(running.url)
    const starts = Array.from({ length: 1000 }, (_, i) =>
      request('/v1/start', JSON.stringify({ system: 'payroll', authid: `u${i % 40}` })),
    )
    client.socket.write(starts.join(''))
    // Most of them still wait at the gate when the client goes away.
    await new Promise((resolve) => setTimeout(resolve, 30))
    client.socket.destroy()
    await running.close()
    server = undefined
    // No request ran against the closed engine: each such one logs and answers 500 (S29).
    expect(errors.mock.calls.filter((call) => String(call[0]).includes('request failed'))).toEqual([])
  })
})
