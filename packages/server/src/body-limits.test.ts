import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServeProcess, startServe } from '../test/serve-process.js'

// S30 through the real listener: a 200 MB body to the unauthenticated link page
// took 600 MB of the server's memory before its size was checked. The server runs in its own process,
// so its peak resident memory (VmHWM) is its own, whatever else the machine is doing.

const MB = 1024 * 1024
const BIG = 200 * MB
/** What the server may grow by while refusing a body: socket buffers and one chunk, not the body. */
const GROWTH_BOUND = 48 * MB

let dir: string
let server: ServeProcess

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-bodies-'))
  server = await startServe({ FLEXSECURE_DB: join(dir, 'flexsecure.db') })
}, 30_000)
afterAll(async () => {
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** The server's peak resident memory so far, in bytes (Linux's /proc). */
const peakMemory = () =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1]) * 1024

/**
 * POSTs `total` bytes, produced as the socket takes them, with or without a Content-Length. Resolves
 * with the status once the server answers (it may answer before the upload ends); `closed` resolves
 * with the bytes sent when the connection ends.
 */
function upload(
  path: string,
  total: number,
  headers: Record<string, string>,
  declareLength: boolean,
  keepAlive = false,
): Promise<{ status: number; sent: number; closed: Promise<number> }> {
  const { hostname, port } = new URL(server.url)
  return new Promise((resolve, reject) => {
    let sent = 0
    let answered = false
    const req = request({
      hostname,
      port,
      method: 'POST',
      path,
      // Without an agent the request says `Connection: close`, its answer is the connection's last.
      agent: keepAlive ? new Agent({ keepAlive: true }) : false,
      headers: { ...headers, ...(declareLength ? { 'content-length': String(total) } : {}) },
    })
    const closed = new Promise<number>((done) => req.on('close', () => done(sent)))
    req.on('response', (res) => {
      answered = true
      res.resume()
      resolve({ status: res.statusCode ?? 0, sent, closed })
    })
    // The server closing on an upload it refused is the point; only a missing answer is a failure.
    req.on('error', () => {})
    void closed.then(() => answered || reject(new Error(`no answer after sending ${sent} bytes`)))
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    const pump = () => {
      while (sent < total && !req.destroyed) {
        sent += chunk.length
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
      req.end()
    }
    pump()
  })
}

const form = { 'content-type': 'application/x-www-form-urlencoded' }
const TOKEN = 'A'.repeat(32)

describe('bodies through the real listener (S30; reads /proc, so Linux only)', () => {
  it.skipIf(process.platform !== 'linux')(
    'refuses a 200 MB link form, declared or chunked, with 413 and without holding it',
    async () => {
      // Warm up the routes first, so the baseline includes what serving them costs anyway.
      for (let i = 0; i < 20; i++) await upload(`/v1/links/${TOKEN}`, 60, form, true)
      const before = peakMemory()
      for (const [declared, keepAlive] of [
        [true, true],
        [false, false],
      ] as const) {
        const answer = await upload(`/v1/links/${TOKEN}`, BIG, form, declared, keepAlive)
        expect(answer.status).toBe(413)
        expect(answer.sent).toBeLessThan(BIG)
      }
      const chunkedJson = await upload(
        '/v1/start',
        BIG,
        { 'content-type': 'application/json', apikey: server.authKey },
        false,
      )
      expect(chunkedJson.status).toBe(413)
      const grown = peakMemory() - before
      console.log(`server peak memory grew by ${(grown / MB).toFixed(1)} MiB over three 200 MiB uploads`)
      expect(grown).toBeLessThan(GROWTH_BOUND)
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    },
    60_000,
  )

  it('answers a refused upload while the client is still sending, then closes its connection', async () => {
    // Closing at once would reset the connection under the answer; try a few times, it is a race.
    for (let i = 0; i < 5; i++) {
      const answer = await upload('/v1/links/not-a-token', BIG, form, false)
      expect(answer.status).toBe(404)
      expect(await answer.closed).toBeLessThan(BIG)
    }
  }, 30_000)

  it('closes a kept-alive connection instead of reading an unread body to its end', async () => {
    // node:http alone would read and discard all of it to reuse the connection; the listener drains a
    // little (@hono/node-server: 500 ms, 64 MiB at most), then closes.
    const endless = 64 * 1024 * MB
    const answer = await upload('/v1/links/not-a-token', endless, form, false, true)
    expect(answer.status).toBe(404)
    const sent = await answer.closed
    console.log(`the client sent ${(sent / MB).toFixed(0)} MiB before the server closed`)
    expect(sent).toBeLessThan(endless)
  }, 60_000)

  it('answers a bad token before reading its form, and a small form as before', async () => {
    expect((await upload('/v1/links/not-a-token', BIG, form, false, true)).status).toBe(404)
    const small = await fetch(`${server.url}/v1/links/${TOKEN}`, {
      method: 'POST',
      headers: form,
      body: 'form=forged',
    })
    expect(small.status).toBe(403)
  })
})
