import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient } from './client.js'
import { API_KEY, type Exchange, expectScriptsPlayed, fakeServer, ORIGIN } from './fake-server.js'
import { FlexSecureHttpError } from './http-error.js'

const NOW = Date.UTC(2026, 0, 1, 9)
const login = { system: 'payroll', authid: 'alice' }

const clientFor = (exchanges: readonly Exchange[], baseUrl = ORIGIN, basePath = '') =>
  createClient({ baseUrl, apiKey: API_KEY, fetch: fakeServer(exchanges, basePath).fetch, now: () => NOW })

afterEach(() => {
  expectScriptsPlayed()
  vi.unstubAllGlobals()
})

describe('start', () => {
  it('posts the login as JSON with the key in the apikey header and answers success with expiresAt as a Date', async () => {
    const client = clientFor([
      {
        method: 'POST',
        path: '/v1/start',
        body: { ...login, context: { ip: '203.0.113.9', mobile: false, attempt: 1 } },
        json: {
          result: 'success',
          challengeId: 'ch_1',
          expiresAt: '2026-01-01T09:10:00.000Z',
          method: 'passwordless',
          channel: 'email',
          delivery: 'sent',
          layers: ['passwordless', 'memorized_pin'],
          matchCode: '042',
        },
      },
    ])
    const answer = await client.start({ ...login, context: { ip: '203.0.113.9', mobile: false, attempt: 1 } })
    expect(answer).toEqual({
      result: 'success',
      challengeId: 'ch_1',
      expiresAt: new Date('2026-01-01T09:10:00.000Z'),
      method: 'passwordless',
      channel: 'email',
      delivery: 'sent',
      layers: ['passwordless', 'memorized_pin'],
      matchCode: '042',
    })
  })

  it('answers a masked success (uniform responses) with only its result', async () => {
    const client = clientFor([
      { method: 'POST', path: '/v1/start', body: login, json: { result: 'success' } },
    ])
    expect(await client.start(login)).toEqual({ result: 'success' })
  })

  it('answers a 403 with the security error and its reason instead of throwing', async () => {
    const client = clientFor([
      {
        method: 'POST',
        path: '/v1/start',
        body: login,
        status: 403,
        json: { result: 'security error', reason: 'not_assigned' },
      },
    ])
    expect(await client.start(login)).toEqual({ result: 'security error', reason: 'not_assigned' })
  })

  it('answers a 429 with retryAfter taken from the body as a Date', async () => {
    const client = clientFor([
      {
        method: 'POST',
        path: '/v1/start',
        body: login,
        status: 429,
        headers: { 'retry-after': '90' },
        json: { result: 'rate limited', retryAfter: '2026-01-01T09:01:30.000Z' },
      },
    ])
    const answer = await client.start(login)
    expect(answer).toEqual({ result: 'rate limited', retryAfter: new Date('2026-01-01T09:01:30.000Z') })
  })

  it('dates a 429 from its Retry-After seconds when the body gives no retryAfter', async () => {
    const client = clientFor([
      {
        method: 'POST',
        path: '/v1/start',
        body: login,
        status: 429,
        headers: { 'retry-after': '45' },
        json: { result: 'rate limited' },
      },
    ])
    expect(await client.start(login)).toEqual({ result: 'rate limited', retryAfter: new Date(NOW + 45_000) })
  })
})

describe('check', () => {
  it.each([
    [200, { result: 'authenticated', challengeId: 'ch_1' }, { result: 'authenticated', challengeId: 'ch_1' }],
    [
      202,
      { result: 'pending', challengeId: 'ch_1', method: 'passwordless' },
      { result: 'pending', challengeId: 'ch_1', method: 'passwordless' },
    ],
    [
      202,
      { result: 'pending', challengeId: 'ch_1', method: 'pin', delivery: 'failed', next: 'memorized_pin' },
      { result: 'pending', challengeId: 'ch_1', method: 'pin', delivery: 'failed', next: 'memorized_pin' },
    ],
    [
      202,
      { result: 'pending', challengeId: 'ch_1', method: 'pin', delivery: 'lost', next: 'fingerprint' },
      { result: 'pending', challengeId: 'ch_1', method: 'pin' },
    ],
    [403, { result: 'expired' }, { result: 'expired' }],
    [
      403,
      { result: 'security error', reason: 'wrong_pin' },
      { result: 'security error', reason: 'wrong_pin' },
    ],
    [
      429,
      { result: 'rate limited', retryAfter: '2026-01-01T09:00:02.000Z' },
      { result: 'rate limited', retryAfter: new Date('2026-01-01T09:00:02.000Z') },
    ],
  ])('maps a %i %j to its answer', async (status, json, expected) => {
    const client = clientFor([{ method: 'POST', path: '/v1/check', body: login, status, json }])
    expect(await client.check(login)).toEqual(expected)
  })

  it('sends the PIN the user typed', async () => {
    const client = clientFor([
      {
        method: 'POST',
        path: '/v1/check',
        body: { ...login, pin: '01234567' },
        json: { result: 'authenticated', challengeId: 'ch_2' },
      },
    ])
    expect(await client.check({ ...login, pin: '01234567' })).toEqual({
      result: 'authenticated',
      challengeId: 'ch_2',
    })
  })
})

describe('errors', () => {
  it.each([
    [400, { result: 'bad request', error: 'authid: must be 1 to 200 characters' }],
    [413, { result: 'bad request', error: 'body too large' }],
    [415, { result: 'bad request', error: 'content-type must be application/json' }],
    [500, { result: 'internal error' }],
    [401, { result: 'unauthorized' }],
  ])('throws a FlexSecureHttpError carrying status %i and the body', async (status, json) => {
    const client = clientFor([{ method: 'POST', path: '/v1/start', body: login, status, json }])
    const error = await client.start(login).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FlexSecureHttpError)
    expect(error).toMatchObject({ name: 'FlexSecureHttpError', status, body: json })
    expect((error as Error).message).toContain(`POST /v1/start: ${status}: ${json.result}`)
  })

  it('throws on a body that is not JSON, keeping the raw text', async () => {
    const client = clientFor([
      { method: 'POST', path: '/v1/check', body: login, status: 502, text: '<html>Bad gateway</html>' },
    ])
    await expect(client.check(login)).rejects.toMatchObject({
      name: 'FlexSecureHttpError',
      status: 502,
      body: '<html>Bad gateway</html>',
    })
  })

  it('throws on a documented status whose body breaks the contract', async () => {
    const client = clientFor([
      { method: 'POST', path: '/v1/start', body: login, json: { result: 'authenticated', challengeId: 'x' } },
      { method: 'POST', path: '/v1/check', body: login, status: 403, json: { result: 'security error' } },
      { method: 'POST', path: '/v1/check', body: login, status: 204 },
      { method: 'POST', path: '/v1/check', body: login, json: { result: 'expired' } },
    ])
    await expect(client.start(login)).rejects.toMatchObject({ status: 200 })
    await expect(client.check(login)).rejects.toMatchObject({ status: 403 })
    await expect(client.check(login)).rejects.toMatchObject({ status: 204, body: null })
    await expect(client.check(login)).rejects.toMatchObject({ status: 200, body: { result: 'expired' } })
  })

  it('throws with status 0 and the cause when the network fails', async () => {
    const cause = new TypeError('fetch failed')
    const client = clientFor([{ method: 'POST', path: '/v1/start', body: login, fail: cause }])
    const error = await client.start(login).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FlexSecureHttpError)
    expect(error).toMatchObject({ status: 0, body: undefined, cause })
  })

  it('does not follow a redirect, so the key cannot travel to another host', async () => {
    const client = clientFor([
      {
        method: 'POST',
        path: '/v1/start',
        body: login,
        status: 307,
        headers: { location: 'https://elsewhere.example/v1/start' },
      },
    ])
    await expect(client.start(login)).rejects.toMatchObject({ name: 'FlexSecureHttpError', status: 307 })
  })

  it('rejects with the abort reason, not an HTTP error, when the caller aborts', async () => {
    const controller = new AbortController()
    const reason = new Error('the visitor left')
    controller.abort(reason)
    const server = fakeServer([])
    const client = createClient({ baseUrl: ORIGIN, apiKey: API_KEY, fetch: server.fetch })
    await expect(client.start(login, { signal: controller.signal })).rejects.toBe(reason)
  })

  it('never names the key in an error message', async () => {
    const client = clientFor([{ method: 'POST', path: '/v1/start', body: login, status: 500, text: 'oops' }])
    const error = (await client.start(login).catch((e: unknown) => e)) as Error
    expect(error.message).toContain('500')
    expect(error.message).not.toContain(API_KEY)
  })
})

describe('configuration', () => {
  it.each([
    ['https://auth.example.com/', ''],
    ['https://auth.example.com/flexsecure', '/flexsecure'],
    ['https://auth.example.com/flexsecure//', '/flexsecure'],
  ])('joins the routes to base URL %s', async (baseUrl, basePath) => {
    const client = clientFor(
      [{ method: 'POST', path: '/v1/check', body: login, status: 403, json: { result: 'expired' } }],
      baseUrl,
      basePath,
    )
    expect(await client.check(login)).toEqual({ result: 'expired' })
  })

  it('refuses a base URL that is relative, not http(s), or carries a query or credentials', () => {
    for (const baseUrl of [
      '/v1',
      'ftp://auth.example.com',
      `${ORIGIN}?key=1`,
      'https://u:p@auth.example.com',
    ])
      expect(() => createClient({ baseUrl, apiKey: API_KEY }), baseUrl).toThrow(TypeError)
  })

  it('refuses an empty API key, and one that would split the header', () => {
    expect(() => createClient({ baseUrl: ORIGIN, apiKey: '  ' })).toThrow('apiKey must be a non-empty string')
    expect(() => createClient({ baseUrl: ORIGIN, apiKey: 'fsk_a\r\nx-evil: 1' })).toThrow(TypeError)
  })

  it('sends the user agent it was given', async () => {
    let userAgent: string | null = null
    const server = fakeServer([
      { method: 'POST', path: '/v1/start', body: login, json: { result: 'success' } },
    ])
    const client = createClient({
      baseUrl: ORIGIN,
      apiKey: API_KEY,
      userAgent: 'acme-portal/3.1',
      fetch: (url, init) => {
        userAgent = new Headers(init.headers).get('user-agent')
        return server.fetch(url, init)
      },
    })
    await client.start(login)
    expect(userAgent).toBe('acme-portal/3.1')
  })

  it('calls the global fetch, resolved at call time, when none is given', async () => {
    const server = fakeServer([
      { method: 'POST', path: '/v1/start', body: login, json: { result: 'success' } },
    ])
    const client = createClient({ baseUrl: ORIGIN, apiKey: API_KEY })
    vi.stubGlobal('fetch', server.fetch)
    expect(await client.start(login)).toEqual({ result: 'success' })
    expect(server.received()).toBe(1)
  })
})
