import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createClient } from './client.js'
import { FlexSecureHttpError } from './http-error.js'
import { contractBreaches, ORIGIN, type ServedEngine, servedEngine } from './served-engine.js'
import type { FetchLike } from './types.js'

// `start` and `check` against the real server. Only what no server answers on purpose (a dead network,
// a proxy's HTML page, a redirect) comes from a one-line fetch of the test's own.

const login = { system: 'payroll', authid: 'alice' }
let served: ServedEngine

beforeEach(async () => {
  served = await servedEngine()
})
afterEach(async () => {
  vi.unstubAllGlobals()
  expect(contractBreaches()).toEqual([])
  await served.close()
})

const clientFor = (key = served.authKey, fetch: FetchLike = served.fetch, baseUrl = ORIGIN) =>
  createClient({ baseUrl, apiKey: key, fetch, now: () => served.clock.now() })

describe('start', () => {
  it('answers success with the challenge, expiresAt as a Date, and the key only in the apikey header', async () => {
    const seen: { url: string; headers: Headers }[] = []
    const watching: FetchLike = (url, init) => {
      seen.push({ url, headers: new Headers(init.headers) })
      return served.fetch(url, init)
    }
    const answer = await clientFor(served.authKey, watching).start({
      ...login,
      context: { ip: '203.0.113.9' },
    })
    expect(answer).toEqual({
      result: 'success',
      challengeId: expect.any(String),
      expiresAt: new Date(served.clock.now() + 600_000),
      method: 'passwordless',
      channel: 'email',
      delivery: 'sent',
      layers: ['passwordless'],
    })
    expect(seen[0]?.url).toBe(`${ORIGIN}/v1/start`)
    const elsewhere: string[] = []
    seen[0]?.headers.forEach((value, name) => {
      if (name !== 'apikey' && value.includes(served.authKey)) elsewhere.push(name)
    })
    expect(elsewhere).toEqual([])
    expect(seen[0]?.headers.get('apikey')).toBe(served.authKey)
  })

  it('answers a masked refusal (uniform responses) as a success with a decoy challenge', async () => {
    await served.acme.settings.update({ uniformResponses: true })
    // A decoy (S20): the same shape as a real start, so the refusal does not show.
    expect(await clientFor().start({ system: 'payroll', authid: 'nobody' })).toMatchObject({
      result: 'success',
      challengeId: expect.any(String),
      method: 'passwordless',
    })
  })

  it('answers a 403 with the security error and its reason instead of throwing', async () => {
    expect(await clientFor().start({ system: 'payroll', authid: 'nobody' })).toEqual({
      result: 'security error',
      reason: 'unknown_user',
    })
  })

  it('answers a 429 with retryAfter from the body as a Date', async () => {
    await served.acme.settings.update({ sendLimits: { perUserPerHour: 1 } })
    await clientFor().start(login)
    expect(await clientFor().start(login)).toEqual({
      result: 'rate limited',
      retryAfter: new Date(served.clock.now() + 3_600_000),
    })
  })
})

describe('check', () => {
  it('answers pending while the link waits, then authenticated once it is confirmed', async () => {
    const client = clientFor()
    const started = await client.start(login)
    const challengeId = (started as { challengeId: string }).challengeId
    expect(await client.check({ ...login, challengeId })).toEqual({
      result: 'pending',
      challengeId,
      method: 'passwordless',
      channel: 'email',
      delivery: 'sent',
      next: 'passwordless',
    })
    await served.engine.links.confirm(served.notifier.last().token as string)
    expect(await client.check({ ...login, challengeId })).toEqual({ result: 'authenticated', challengeId })
  })

  it('answers expired after the challenge’s lifetime', async () => {
    const client = clientFor()
    await client.start(login)
    served.clock.advance(601_000)
    expect(await client.check(login)).toEqual({ result: 'expired' })
  })

  it('sends the PIN the user typed, wrong and then right', async () => {
    await served.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    const client = clientFor()
    await client.start(login)
    const pin = served.notifier.last().pin as string
    const wrong = pin.slice(0, -1) + (pin.endsWith('0') ? '1' : '0')
    expect(await client.check({ ...login, pin: wrong })).toEqual({
      result: 'security error',
      reason: 'wrong_pin',
    })
    expect(await client.check({ ...login, pin })).toMatchObject({ result: 'authenticated' })
  })

  it('answers a 429 from the poll limiter with retryAfter as a Date', async () => {
    await served.close()
    served = await servedEngine({ polling: { burst: 1, perSecond: 0.5 } })
    const client = clientFor()
    await client.start(login)
    await client.check(login)
    expect(await client.check(login)).toEqual({
      result: 'rate limited',
      retryAfter: new Date(served.clock.now() + 2000),
    })
  })
})

describe('errors', () => {
  it('throws a FlexSecureHttpError carrying the status and the body of a bad request', async () => {
    const error = await clientFor()
      .start({ system: 'payroll', authid: 'a'.repeat(300) })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FlexSecureHttpError)
    expect(error).toMatchObject({ status: 400, body: { result: 'bad request', field: 'authid' } })
    expect((error as Error).message).toContain('POST /v1/start: 400: bad request')
  })

  it('says a field left out is required, naming it once', async () => {
    const error = await clientFor()
      .start({ system: 'payroll' } as never)
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 400, body: { field: 'authid', error: 'authid: is required' } })
    expect((error as Error).message).toBe('POST /v1/start: 400: bad request: authid: is required')
  })

  it('answers a key the server does not know as a security error, and never names the key', async () => {
    const key = 'fsk_Unknown0Key0Of0Thirty0Two0Chars0xxxx9Q2c'
    expect(await clientFor(key).start(login)).toEqual({ result: 'security error', reason: 'invalid_key' })
    const error = (await clientFor(key)
      .admin.systems.list()
      .catch((e: unknown) => e)) as FlexSecureHttpError
    expect(error.status).toBe(403)
    expect(error.message).not.toContain(key)
  })

  it('throws on a body that is not JSON (a proxy’s page), keeping the raw text', async () => {
    const proxy: FetchLike = async () => new Response('<html>Bad gateway</html>', { status: 502 })
    await expect(clientFor(served.authKey, proxy).check(login)).rejects.toMatchObject({
      name: 'FlexSecureHttpError',
      status: 502,
      body: '<html>Bad gateway</html>',
    })
  })

  it('throws on a documented status whose body breaks the contract', async () => {
    const odd: FetchLike = async () => Response.json({ result: 'authenticated', challengeId: 'x' })
    await expect(clientFor(served.authKey, odd).start(login)).rejects.toMatchObject({ status: 200 })
  })

  it('throws with status 0 and the cause when the network fails', async () => {
    const cause = new TypeError('fetch failed')
    const dead: FetchLike = async () => {
      throw cause
    }
    const error = await clientFor(served.authKey, dead)
      .start(login)
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'FlexSecureHttpError', status: 0, body: undefined, cause })
  })

  it('does not follow a redirect, so the key cannot travel to another host', async () => {
    let redirect: RequestRedirect | undefined
    const moved: FetchLike = async (_url, init) => {
      redirect = init.redirect
      return new Response(null, { status: 307, headers: { location: 'https://elsewhere.example/v1/start' } })
    }
    await expect(clientFor(served.authKey, moved).start(login)).rejects.toMatchObject({ status: 307 })
    expect(redirect).toBe('manual')
  })

  it('rejects with the abort reason, not an HTTP error, when the caller aborts', async () => {
    const controller = new AbortController()
    const reason = new Error('the visitor left')
    controller.abort(reason)
    await expect(clientFor().start(login, { signal: controller.signal })).rejects.toBe(reason)
    expect(served.requests()).toBe(0)
  })
})

describe('configuration', () => {
  it.each([
    ['https://auth.example.com/', ''],
    ['https://auth.example.com/flexsecure', '/flexsecure'],
    ['https://auth.example.com/flexsecure//', '/flexsecure'],
  ])('joins the routes to base URL %s', async (baseUrl, prefix) => {
    // A reverse proxy that serves FlexSecure under the prefix.
    const proxy: FetchLike = (url, init) => {
      const { origin, pathname } = new URL(url)
      expect(pathname.startsWith(`${prefix}/v1/`)).toBe(true)
      return served.fetch(`${origin}${pathname.slice(prefix.length)}`, init)
    }
    expect(await clientFor(served.authKey, proxy, baseUrl).start({ system: 'payroll', authid: 'x' })).toEqual(
      {
        result: 'security error',
        reason: 'unknown_user',
      },
    )
  })

  it('refuses a base URL that is relative, not http(s), or carries a query or credentials', () => {
    for (const baseUrl of [
      '/v1',
      'ftp://auth.example.com',
      `${ORIGIN}?key=1`,
      'https://u:p@auth.example.com',
    ])
      expect(() => createClient({ baseUrl, apiKey: served.authKey }), baseUrl).toThrow(TypeError)
  })

  it('refuses an empty API key, and one that would split the header', () => {
    expect(() => createClient({ baseUrl: ORIGIN, apiKey: '  ' })).toThrow('apiKey must be a non-empty string')
    expect(() => createClient({ baseUrl: ORIGIN, apiKey: 'fsk_a\r\nx-evil: 1' })).toThrow(TypeError)
  })

  it('sends the user agent it was given, which the audit records', async () => {
    const client = createClient({
      baseUrl: ORIGIN,
      apiKey: served.authKey,
      userAgent: 'acme-portal/3.1',
      fetch: served.fetch,
    })
    let userAgent: string | null = null
    const watching: FetchLike = (url, init) => {
      userAgent = new Headers(init.headers).get('user-agent')
      return served.fetch(url, init)
    }
    await createClient({
      baseUrl: ORIGIN,
      apiKey: served.authKey,
      userAgent: 'acme-portal/3.1',
      fetch: watching,
    }).start(login)
    expect(userAgent).toBe('acme-portal/3.1')
    expect(await client.check(login)).toMatchObject({ result: 'pending' })
  })

  it('calls the global fetch, resolved at call time, when none is given', async () => {
    const client = createClient({ baseUrl: ORIGIN, apiKey: served.authKey })
    vi.stubGlobal('fetch', served.fetch)
    expect(await client.start(login)).toMatchObject({ result: 'success' })
    expect(served.requests()).toBe(1)
  })
})
