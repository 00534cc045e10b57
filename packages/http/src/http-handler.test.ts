import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TEST_SECRET } from '../../../adapters/sqlite/test/engine-fixture.js'
import { BASE, type HandlerFixture, handlerFixture, login } from '../test/handler-fixture.js'
import { createHttpHandler } from './http-handler.js'

let f: HandlerFixture['f']
let handler: HandlerFixture['handler']
let authKey: string
let adminKey: string
let post: HandlerFixture['post']
let call: HandlerFixture['call']

beforeEach(async () => {
  ;({ f, handler, authKey, adminKey, post, call } = await handlerFixture())
})
afterEach(async () => {
  await f.close()
})

describe('POST /v1/start and /v1/check', () => {
  it('runs a PIN login: 200 success, 202 pending, 403 wrong_pin, 200 authenticated, then 403', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    expect(await call('/v1/start', login)).toMatchObject({
      status: 200,
      body: { result: 'success', method: 'pin' },
    })
    expect(await call('/v1/check', login)).toMatchObject({ status: 202, body: { result: 'pending' } })
    const pin = f.notifier.last().pin as string
    expect(
      await call('/v1/check', {
        ...login,
        pin: '0'.repeat(pin.length - 1) + (pin.endsWith('0') ? '1' : '0'),
      }),
    ).toMatchObject({
      status: 403,
      body: { result: 'security error', reason: 'wrong_pin' },
    })
    expect(await call('/v1/check', { ...login, pin })).toMatchObject({
      status: 200,
      body: { result: 'authenticated' },
    })
    expect(await call('/v1/check', { ...login, pin })).toMatchObject({
      status: 403,
      body: { result: 'security error', reason: 'no_pending_challenge' },
    })
  })

  it('accepts the PIN as a JSON number, as the product guide sends it', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
    await f.acme.settings.update({ sendLimits: { perUserPerHour: 1000, perDestinationPerHour: 1000 } })
    await call('/v1/start', login)
    const pin = f.notifier.last().pin as string
    expect(
      await call('/v1/check', `{"system":"payroll","authid":"alice","pin":${Number(pin)}}`),
    ).toMatchObject({
      status: 200,
      body: { result: 'authenticated' },
    })
  })

  it('answers 403 expired after the lifetime', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await call('/v1/start', login)
    f.clock.advance(10 * 60_000)
    expect(await call('/v1/check', login)).toMatchObject({ status: 403, body: { result: 'expired' } })
  })

  it('answers 403 security error with its reason for an unknown user', async () => {
    expect(await call('/v1/start', { system: 'payroll', authid: 'nobody' })).toMatchObject({
      status: 403,
      body: { result: 'security error', reason: 'unknown_user' },
    })
  })

  it('answers 429 with Retry-After when a send limit is spent', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    for (let i = 0; i < 5; i++) await call('/v1/start', login)
    const refused = await call('/v1/start', login)
    expect(refused).toMatchObject({ status: 429, body: { result: 'rate limited' } })
    expect(refused.headers.get('retry-after')).toBe('3600')
  })

  it('passes the key id so the per-key send limit applies, and audits with it', async () => {
    await f.acme.settings.update({ sendLimits: { perApiKeyPerMinute: 1 } })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    expect((await call('/v1/start', login)).status).toBe(200)
    expect(await call('/v1/start', login)).toMatchObject({ status: 429 })
    const identity = await f.engine.accounts.authenticateKey(authKey)
    const started = (await f.acme.audit.list({ type: 'challenge.started' })).events
    expect(started.map((e) => e.actor)).toEqual([identity?.keyId, identity?.keyId])
  })

  it('lets a poller every 2 seconds through and refuses a flood with 429 (S19)', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await call('/v1/start', login)
    const statuses = []
    for (let i = 0; i < 30; i++) {
      f.clock.advance(2000)
      statuses.push((await post('/v1/check', login)).status)
    }
    expect(new Set(statuses)).toEqual(new Set([202]))
    const flood = []
    for (let i = 0; i < 30; i++) flood.push((await post('/v1/check', login)).status)
    expect(flood.filter((s) => s === 202).length).toBeLessThanOrEqual(10)
    expect(flood.filter((s) => s === 429).length).toBeGreaterThanOrEqual(20)
  })
})

describe('bad requests: a documented 4xx, a clear error, no state change', () => {
  const noChallenges = () => expect(f.rows('fs_challenges')).toEqual([])
  beforeEach(async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
  })

  it.each([
    ['bad JSON', '{"system":', 400, 'body is not valid JSON'],
    ['an array body', '[1,2]', 400, 'body:'],
    ['a missing field', '{"system":"payroll"}', 400, 'authid'],
    ['a wrong type', '{"system":"payroll","authid":7}', 400, 'authid'],
    ['a huge authid', JSON.stringify({ system: 'payroll', authid: 'a'.repeat(300) }), 400, 'authid'],
    ['an unknown field', '{"system":"payroll","authid":"alice","admin":true}', 400, "unknown field 'admin'"],
    ['a __proto__ key', '{"system":"payroll","authid":"alice","__proto__":{"polluted":1}}', 400, '__proto__'],
    ['nested context', '{"system":"payroll","authid":"alice","context":{"a":{"b":1}}}', 400, 'context'],
    [
      'a __proto__ in context',
      '{"system":"payroll","authid":"alice","context":{"__proto__":"x"}}',
      400,
      'context.__proto__',
    ],
    [
      'a constructor key',
      '{"system":"payroll","authid":"alice","context":{"constructor":"x"}}',
      400,
      'context.constructor',
    ],
  ])('refuses %s with 400', async (_name, body, status, error) => {
    const answer = await call('/v1/start', body)
    expect(answer.status).toBe(status)
    expect(answer.body).toMatchObject({ result: 'bad request' })
    expect(answer.body.error).toContain(error)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    noChallenges()
  })

  it('refuses a wrong content type with 415', async () => {
    expect(await call('/v1/start', login, { 'content-type': 'text/plain' })).toMatchObject({ status: 415 })
    noChallenges()
  })

  it('records a key’s use only for requests it accepts', async () => {
    const lastUsed = () => f.rows('fs_api_keys').find((k) => k.name === 'host')?.last_used_at ?? null
    await call('/v1/start', '{"system":')
    expect(lastUsed()).toBeNull()
    await call('/v1/start', login)
    expect(lastUsed()).toBe(f.clock.now())
  })

  it('refuses a body over 64 KiB with 413', async () => {
    const big = JSON.stringify({ ...login, context: { pad: 'x'.repeat(70_000) } })
    expect(await call('/v1/start', big)).toMatchObject({ status: 413, body: { result: 'bad request' } })
    noChallenges()
  })

  const NO_HEADER =
    'no apikey header: send the API key in a header named apikey (not Authorization, a cookie or the URL)'
  it.each([
    ['a missing key', () => ({}), { error: NO_HEADER }],
    [
      'a valid key sent as a bearer token',
      () => ({ authorization: `Bearer ${authKey}` }),
      { error: NO_HEADER },
    ],
    ['a malformed key', () => ({ apikey: 'fsk_123' }), {}],
    ['an empty apikey header', () => ({ apikey: '' }), {}],
  ])(
    'refuses %s with 403, saying where the key goes only when the header is missing',
    async (_name, headers, hint) => {
      const response = await handler(
        new Request(`${BASE}/v1/start`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers() },
          body: JSON.stringify(login),
        }),
      )
      expect(response.status).toBe(403)
      expect(await response.json()).toEqual({ result: 'security error', reason: 'invalid_key', ...hint })
      noChallenges()
    },
  )

  it('refuses a revoked key at once', async () => {
    const { id, key } = await f.acme.apiKeys.create({ name: 'temp', scopes: ['auth'] })
    await f.acme.apiKeys.revoke(id)
    expect(await call('/v1/start', login, { apikey: key })).toMatchObject({
      status: 403,
      body: { reason: 'invalid_key' },
    })
  })

  it('refuses an auth key on the admin API, and an admin-only key on start', async () => {
    const response = await handler(new Request(`${BASE}/v1/admin/systems`, { headers: { apikey: authKey } }))
    expect([response.status, await response.json()]).toEqual([
      403,
      { result: 'security error', reason: 'forbidden_scope' },
    ])
    expect(await call('/v1/start', login, { apikey: adminKey })).toMatchObject({
      status: 403,
      body: { reason: 'forbidden_scope' },
    })
  })
})

describe('link pages', () => {
  /** The confirm page's form token, as the browser would post it back. */
  const formField = (html: string) =>
    `form=${encodeURIComponent(/name="form" value="([^"]+)"/.exec(html)?.[1] as string)}`
  const page = async (method: 'GET' | 'POST', token: string, body?: string) =>
    handler(
      new Request(`${BASE}/v1/links/${token}`, {
        method,
        ...(body !== undefined
          ? { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }
          : {}),
      }),
    )

  it('shows a confirm page that changes nothing, then confirms once with its form token', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await call('/v1/start', {
      ...login,
      context: { ip: '203.0.113.7', userAgent: '<script>alert(1)</script>' },
    })
    const token = f.notifier.last().token as string
    const shown = await page('GET', token)
    const html = await shown.text()
    expect(shown.status).toBe(200)
    expect(html).toContain('Sign in to payroll?')
    expect(html).toContain('203.0.113.7')
    expect(html).toContain('&lt;script&gt;')
    expect(html).not.toContain('<script>')
    expect(['cache-control', 'referrer-policy', 'x-frame-options'].map((h) => shown.headers.get(h))).toEqual([
      'no-store',
      'no-referrer',
      'DENY',
    ])
    expect(shown.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(await call('/v1/check', login)).toMatchObject({ status: 202 })

    const formToken = /name="form" value="([^"]+)"/.exec(html)?.[1] as string
    expect((await page('POST', token, 'form=forged')).status).toBe(403)
    expect(await call('/v1/check', login)).toMatchObject({ status: 202 })
    const confirmed = await page('POST', token, `form=${encodeURIComponent(formToken)}`)
    expect([confirmed.status, await confirmed.text()]).toEqual([
      200,
      expect.stringContaining('You are signed in'),
    ])
    expect((await page('POST', token, `form=${encodeURIComponent(formToken)}`)).status).toBe(410)
    expect(await call('/v1/check', login)).toMatchObject({ status: 200, body: { result: 'authenticated' } })
  })

  it('audits who confirmed and who checked: the browser on the confirm page, the host context on check (S25)', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    // The login starts on a desktop; the link is opened on a phone that connects from elsewhere.
    await call('/v1/start', { ...login, context: { ip: '203.0.113.7', userAgent: 'Desktop/1.0' } })
    const token = f.notifier.last().token as string
    const html = await (await page('GET', token)).text()
    const form = formField(html)
    const phone = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Phone/2.0' }
    const confirmed = await handler(
      new Request(`${BASE}/v1/links/${token}`, { method: 'POST', body: form, headers: phone }),
      { remoteAddress: '198.51.100.23' },
    )
    expect(confirmed.status).toBe(200)
    const checked = await call('/v1/check', {
      ...login,
      context: { ip: '203.0.113.7', userAgent: 'Desktop/1.0' },
    })
    expect(checked.body.result).toBe('authenticated')

    const { events } = await f.acme.audit.list()
    const of = (type: string) => events.find((event) => event.type === type)
    expect(of('link.confirmed')).toMatchObject({
      outcome: 'success',
      ip: '198.51.100.23',
      userAgent: 'Phone/2.0',
    })
    expect(of('challenge.checked')).toMatchObject({
      outcome: 'authenticated',
      ip: '203.0.113.7',
      userAgent: 'Desktop/1.0',
    })
  })

  it('takes the address the proxy added to X-Forwarded-For only when told to trust the proxy', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await f.acme.settings.update({ sendLimits: { perUserPerHour: 1000, perDestinationPerHour: 1000 } })
    const proxied = createHttpHandler({
      engine: f.engine,
      secret: TEST_SECRET,
      now: () => f.clock.now(),
      trustProxy: true,
    })
    const confirmVia = async (serve: typeof handler) => {
      await call('/v1/start', login)
      const token = f.notifier.last().token as string
      const html = await (await page('GET', token)).text()
      const form = formField(html)
      const response = await serve(
        new Request(`${BASE}/v1/links/${token}`, {
          method: 'POST',
          body: form,
          // The browser claims an address; the proxy appends the one it saw.
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-forwarded-for': '10.9.9.9, 198.51.100.40',
          },
        }),
        { remoteAddress: '127.0.0.1' },
      )
      expect(response.status).toBe(200)
      const { events } = await f.acme.audit.list({ type: 'link.confirmed' })
      return events.at(-1)?.ip
    }
    expect(await confirmVia(handler)).toBe('127.0.0.1')
    expect(await confirmVia(proxied)).toBe('198.51.100.40')
  })

  it('keeps the connection’s address when the forwarded entry is not an address', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    const proxied = createHttpHandler({ engine: f.engine, secret: TEST_SECRET, trustProxy: true })
    await call('/v1/start', login)
    const token = f.notifier.last().token as string
    const html = await (await page('GET', token)).text()
    const form = formField(html)
    const response = await proxied(
      new Request(`${BASE}/v1/links/${token}`, {
        method: 'POST',
        body: form,
        // Not what a proxy appends: a client talking to the server directly, or a proxy passing it on.
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-for': '=HYPERLINK("http://evil.example/")',
        },
      }),
      { remoteAddress: '203.0.113.50' },
    )
    expect(response.status).toBe(200)
    const { events } = await f.acme.audit.list({ type: 'link.confirmed' })
    expect(events.at(-1)?.ip).toBe('203.0.113.50')
  })

  it('logs a failed link page by its route, never with the token in its path (S26)', async () => {
    const failing = createHttpHandler({
      engine: {
        ...f.engine,
        links: { ...f.engine.links, inspect: () => Promise.reject(new Error('database gone')) },
      },
      secret: TEST_SECRET,
    })
    const token = 'A'.repeat(32)
    const logged: unknown[][] = []
    const original = console.error
    console.error = (...args: unknown[]) => logged.push(args)
    try {
      expect((await failing(new Request(`${BASE}/v1/links/${token}`))).status).toBe(500)
    } finally {
      console.error = original
    }
    expect(logged).toHaveLength(1)
    expect(JSON.stringify(logged[0]?.slice(0, 3))).toContain('/v1/links/:token')
    expect(JSON.stringify(logged)).not.toContain(token)
  })

  it('asks for the match code on the confirm page and confirms only with the right one (S12)', async () => {
    await f.acme.systems.update('payroll', { rules: [{ name: 'match', effect: { numberMatching: true } }] })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    const started = await call('/v1/start', login)
    const code = started.body.matchCode as string
    expect(code).toMatch(/^\d{3}$/)
    const token = f.notifier.last().token as string
    const html = await (await page('GET', token)).text()
    expect(html).toContain('name="code"')
    const form = formField(html)
    const wrong = String((Number(code) + 1) % 1000).padStart(3, '0')
    const refused = await page('POST', token, `${form}&code=${wrong}`)
    expect([refused.status, await refused.text()]).toEqual([400, expect.stringContaining('does not match')])
    expect(await call('/v1/check', login)).toMatchObject({ status: 202 })
    const confirmed = await page('POST', token, `${form}&code=${code}`)
    expect(confirmed.status).toBe(200)
    expect(await call('/v1/check', login)).toMatchObject({ status: 200, body: { result: 'authenticated' } })
  })

  it('says a link closed by wrong codes was closed, not used, and confirms nothing (S12)', async () => {
    await f.acme.systems.update('payroll', { rules: [{ name: 'match', effect: { numberMatching: true } }] })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    const code = (await call('/v1/start', login)).body.matchCode as string
    const token = f.notifier.last().token as string
    const form = formField(await (await page('GET', token)).text())
    const wrong = String((Number(code) + 1) % 1000).padStart(3, '0')
    let last: Response | undefined
    for (let i = 0; i < 5 && last?.status !== 410; i++)
      last = await page('POST', token, `${form}&code=${wrong}`)
    expect([last?.status, await last?.text()]).toEqual([410, expect.stringContaining('This link was closed')])
    const again = await page('GET', token)
    expect([again.status, await again.text()]).toEqual([410, expect.stringContaining('Too many wrong codes')])
    expect(await call('/v1/check', login)).not.toMatchObject({ body: { result: 'authenticated' } })
  })

  it('links back to the system’s returnUrl on the outcome page', async () => {
    await f.acme.settings.update({ returnOrigins: ['https://app.example.com'] })
    await f.acme.systems.update('payroll', { returnUrl: 'https://app.example.com/in?from="x"' })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await call('/v1/start', login)
    const token = f.notifier.last().token as string
    const form = /name="form" value="([^"]+)"/.exec(await (await page('GET', token)).text())?.[1] as string
    const html = await (await page('POST', token, `form=${encodeURIComponent(form)}`)).text()
    expect(html).toContain(
      '<a href="https://app.example.com/in?from=%22x%22" rel="noreferrer">Continue to payroll</a>',
    )
  })

  it('answers clear pages for unknown, expired and used links, never a stack trace', async () => {
    const unknown = await page('GET', 'A'.repeat(32))
    expect([unknown.status, await unknown.text()]).toEqual([
      404,
      expect.stringContaining('This link is not valid'),
    ])
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await call('/v1/start', login)
    const token = f.notifier.last().token as string
    f.clock.advance(10 * 60_000)
    const expired = await page('GET', token)
    expect([expired.status, await expired.text()]).toEqual([410, expect.stringContaining('expired')])
    expect((await page('GET', '..%2F..%2Fetc%2Fpasswd')).status).toBe(404)
  })

  it('answers 403 "turned off" for a waiting link once sign-in by link is off, and confirms nothing (issue 12 item 8)', async () => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await call('/v1/start', login)
    const token = f.notifier.last().token as string
    const html = await (await page('GET', token)).text()
    await f.acme.systems.update('payroll', { policies: { passwordless: { enabled: false } } })
    const shown = await page('GET', token)
    expect([shown.status, await shown.text()]).toEqual([403, expect.stringContaining('turned off')])
    expect((await page('POST', token, formField(html))).status).toBe(403)
    expect(await call('/v1/check', login)).toMatchObject({
      status: 403,
      body: { result: 'security error', reason: 'method_not_enabled' },
    })
  })
})
