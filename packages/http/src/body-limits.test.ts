import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sqliteStorage } from '../../../adapters/sqlite/src/index.js'
import { BASE, type HandlerFixture, handlerFixture, SECRET } from '../test/storage-fixtures.js'
import { createHttpHandler } from './http-handler.js'

// S30: every body, on every route, is capped before it is read; the link pages check the token's
// shape before anything else. Bodies here are streams that count what the handler pulled from them,
// so "stopped reading past the cap" is measured, not inferred.

const CAP = 64 * 1024
const CHUNK = 64 * 1024
/** Far more than the cap, small enough that code which buffers it whole still finishes. */
const HUGE = 16 * 1024 * 1024

let f: HandlerFixture
let handler: HandlerFixture['handler']
let authKey: string
let adminKey: string

beforeEach(async () => {
  f = await handlerFixture(sqliteStorage({ filename: ':memory:' }))
  handler = f.handler
  authKey = f.keys.auth
  adminKey = f.keys.admin
})
afterEach(async () => {
  await f.close()
})

/** A body of `total` bytes that is produced only as it is read; `pulled` says how much was. */
function countingBody(total: number) {
  const counter = { pulled: 0 }
  const bytes = new Uint8Array(CHUNK).fill(0x61)
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (counter.pulled >= total) return controller.close()
        counter.pulled += CHUNK
        controller.enqueue(bytes)
      },
    },
    // Nothing is produced before someone reads.
    new CountQueuingStrategy({ highWaterMark: 0 }),
  )
  return { stream, counter }
}

const send = (method: string, path: string, body: ReadableStream<Uint8Array>, headers = {}) =>
  handler(
    // A web-standard GET carries no body; over a socket it may, and its declared length is what counts.
    new Request(`${BASE}${path}`, {
      method,
      headers,
      ...(method === 'GET' ? {} : { body, duplex: 'half' }),
    } as RequestInit),
  )

async function startLink(): Promise<string> {
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
  await f.acme.start({ system: 'payroll', authid: 'alice' })
  return f.notifier.last().token as string
}

const form = { 'content-type': 'application/x-www-form-urlencoded' }
const json = (key: string) => ({ 'content-type': 'application/json', apikey: key })

describe('bodies are capped before they are read (S30)', () => {
  it.each([
    ['no Content-Length (chunked)', {}],
    ['a Content-Length that lies', { 'content-length': '10' }],
  ])('stops reading a link form past the cap with 413: %s', async (_name, length) => {
    const token = await startLink()
    const { stream, counter } = countingBody(HUGE)
    const response = await send('POST', `/v1/links/${token}`, stream, { ...form, ...length })
    expect(response.status).toBe(413)
    expect(counter.pulled).toBeLessThanOrEqual(CAP + 2 * CHUNK)
    // Nothing was confirmed.
    expect(await f.acme.check({ system: 'payroll', authid: 'alice' })).toMatchObject({ result: 'pending' })
  })

  it.each([
    ['no Content-Length (chunked)', {}],
    ['a Content-Length that lies', { 'content-length': '10' }],
  ])('stops reading a JSON body past the cap with 413: %s', async (_name, length) => {
    const { stream, counter } = countingBody(HUGE)
    const response = await send('POST', '/v1/start', stream, { ...json(authKey), ...length })
    expect(response.status).toBe(413)
    expect(await response.json()).toMatchObject({ result: 'bad request' })
    expect(counter.pulled).toBeLessThanOrEqual(CAP + 2 * CHUNK)
  })

  it.each([
    ['POST', '/v1/start', 'auth'],
    ['POST', '/v1/check', 'auth'],
    ['POST', '/v1/links/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'form'],
    ['POST', '/v1/admin/users', 'admin'],
    ['GET', '/healthz', 'none'],
    ['GET', '/metrics', 'none'],
    ['PUT', '/v1/nowhere', 'none'],
  ])(
    'refuses a declared length over the cap on %s %s with 413, reading nothing',
    async (method, path, kind) => {
      const { stream, counter } = countingBody(HUGE)
      const headers =
        kind === 'form' ? form : kind === 'none' ? {} : json(kind === 'auth' ? authKey : adminKey)
      const response = await send(method, path, stream, { ...headers, 'content-length': String(HUGE) })
      expect(response.status).toBe(413)
      expect(counter.pulled).toBe(0)
    },
  )
})

describe('link pages check the token’s shape first (S30)', () => {
  it.each([
    ['too short', 'abc'],
    ['too long', 'A'.repeat(33)],
    ['a character no token has', `${'A'.repeat(31)}.`],
    ['an encoded slash', `${'A'.repeat(29)}%2F..`],
  ])('answers 404 for a token %s, without reading the body or asking the engine', async (_name, token) => {
    const asked: string[] = []
    const watched = createHttpHandler({
      engine: {
        ...f.engine,
        links: {
          inspect: (t) => {
            asked.push(t)
            return f.engine.links.inspect(t)
          },
          confirm: (t, o) => {
            asked.push(t)
            return f.engine.links.confirm(t, o)
          },
          redeem: (code) => f.engine.links.redeem(code),
        },
      },
      secret: SECRET,
    })
    const { stream, counter } = countingBody(HUGE)
    const posted = await watched(
      new Request(`${BASE}/v1/links/${token}`, {
        method: 'POST',
        body: stream,
        headers: form,
        duplex: 'half',
      } as RequestInit),
    )
    const shown = await watched(new Request(`${BASE}/v1/links/${token}`))
    expect([posted.status, shown.status]).toEqual([404, 404])
    expect(await shown.text()).toContain('This link is not valid')
    expect(counter.pulled).toBe(0)
    expect(asked).toEqual([])
  })

  it('still confirms a link whose form is well within the cap', async () => {
    const token = await startLink()
    const html = await (await handler(new Request(`${BASE}/v1/links/${token}`))).text()
    const formToken = /name="form" value="([^"]+)"/.exec(html)?.[1] as string
    const confirmed = await handler(
      new Request(`${BASE}/v1/links/${token}`, {
        method: 'POST',
        body: `form=${encodeURIComponent(formToken)}`,
        headers: form,
      }),
    )
    expect(confirmed.status).toBe(200)
  })
})
