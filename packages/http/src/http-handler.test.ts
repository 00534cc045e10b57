import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type EngineFixture,
  engineFixture,
  TEST_SECRET,
} from '../../../adapters/sqlite/test/engine-fixture.js'
import { createHttpHandler } from './http-handler.js'

const BASE = 'https://auth.example.com'
let f: EngineFixture
let handler: ReturnType<typeof createHttpHandler>
let authKey: string
let adminKey: string

beforeEach(async () => {
  f = await engineFixture()
  handler = createHttpHandler({ engine: f.engine, secret: TEST_SECRET, now: () => f.clock.now() })
  authKey = (await f.acme.apiKeys.create({ name: 'host', scopes: ['auth'] })).key
  adminKey = (await f.acme.apiKeys.create({ name: 'ops', scopes: ['admin'] })).key
})
afterEach(async () => {
  await f.close()
})

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  handler(
    new Request(`${BASE}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', apikey: authKey, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  )
const call = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await post(path, body, headers)
  return { status: response.status, body: await response.json(), headers: response.headers }
}
const login = { system: 'payroll', authid: 'alice' }

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

  it.each([
    ['a missing key', {}, 'invalid_key'],
    ['a malformed key', { apikey: 'fsk_123' }, 'invalid_key'],
  ])('refuses %s with 403', async (_name, headers, reason) => {
    const response = await handler(
      new Request(`${BASE}/v1/start`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(login),
      }),
    )
    expect(response.status).toBe(403)
    expect(await response.json()).toEqual({ result: 'security error', reason })
    noChallenges()
  })

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

describe('admin API', () => {
  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await handler(
      new Request(`${BASE}/v1/admin${path}`, {
        method,
        headers: { apikey: adminKey, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }),
    )
    const text = await response.text()
    const isJson = response.headers.get('content-type')?.startsWith('application/json')
    return { status: response.status, body: text && isJson ? JSON.parse(text) : text }
  }

  it('manages systems, users and assignments (several systems at once)', async () => {
    expect(
      await admin('POST', '/systems', { name: 'crm', policies: { passwordless: { enabled: true } } }),
    ).toMatchObject({ status: 201 })
    expect(await admin('POST', '/users', { authid: 'bob', email: 'Bob@Example.com' })).toMatchObject({
      status: 201,
      body: { email: 'Bob@example.com' },
    })
    const assigned = await admin('POST', '/users/bob/assignments', {
      assignments: [
        { system: 'crm', method: 'passwordless' },
        { system: 'payroll', method: 'pin', channel: 'email' },
      ],
    })
    expect(assigned.body.assignments).toHaveLength(2)
    expect(await admin('POST', '/systems', { name: 'crm' })).toMatchObject({
      status: 409,
      body: { result: 'conflict', field: 'name' },
    })
    expect(await admin('POST', '/users', { authid: 'x', email: 'nope' })).toMatchObject({
      status: 400,
      body: { field: 'email' },
    })
    expect(await admin('GET', '/users/nobody')).toMatchObject({ status: 404 })
    expect((await admin('DELETE', '/users/bob')).status).toBe(204)
  })

  it('sets a user’s locale and a system’s message overrides, and the next message follows them', async () => {
    expect(await admin('PATCH', '/users/alice', { locale: 'de' })).toMatchObject({
      status: 200,
      body: { locale: 'de' },
    })
    expect(
      await admin('PATCH', '/systems/payroll', {
        messages: { appName: 'Lohn', templates: { de: { smsPin: '{pin} ist Ihr {app}-Code.' } } },
      }),
    ).toMatchObject({ status: 200, body: { messages: { appName: 'Lohn' } } })
    expect(await admin('PATCH', '/settings', { messages: { senderName: 'Acme Sicherheit' } })).toMatchObject({
      status: 200,
    })
    expect(
      await admin('PATCH', '/systems/payroll', { messages: { templates: { de: { smsPin: 'kein Code' } } } }),
    ).toMatchObject({ status: 400, body: { field: 'messages.templates.de.smsPin' } })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'sms' }])
    await call('/v1/start', login)
    const sms = f.notifier.last()
    expect(sms).toMatchObject({
      locale: 'de',
      fromName: 'Acme Sicherheit',
      text: `${sms.pin} ist Ihr Lohn-Code.`,
    })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    await call('/v1/start', login)
    expect(f.notifier.last()).toMatchObject({ subject: 'Ihr Anmeldecode für Lohn' })
    expect(await call('/v1/check', login)).toMatchObject({
      status: 202,
      body: { result: 'pending', delivery: 'sent' },
    })
  })

  it('sets rules and sensitivity, simulates a start, and sets memorized PINs (admin and after login)', async () => {
    const rules = [
      {
        name: 'outside',
        when: { ipNotIn: ['10.0.0.0/8'], sensitivityAtLeast: 'high' },
        effect: { requireMemorizedPin: true },
      },
    ]
    expect(await admin('PATCH', '/systems/payroll', { sensitivity: 'high', rules })).toMatchObject({
      status: 200,
      body: { sensitivity: 'high', rulesVersion: 1, rules },
    })
    expect(
      await admin('PATCH', '/systems/payroll', {
        rules: [{ name: 'x', when: { ipIn: ['nope'] }, effect: { deny: true } }],
      }),
    ).toMatchObject({ status: 400, body: { field: 'rules[0].when.ipIn[0]' } })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    expect(
      await admin('POST', '/policy/simulate', { ...login, context: { ip: '198.51.100.1' } }),
    ).toMatchObject({
      status: 200,
      body: {
        result: 'decision',
        decision: { denied: true, reason: 'a memorized PIN is required and the user has none' },
      },
    })
    expect(await admin('PUT', '/users/alice/pin', { pin: '123456' })).toMatchObject({
      status: 400,
      body: { field: 'pin' },
    })
    expect((await admin('PUT', '/users/alice/pin', { pin: '582914' })).status).toBe(204)
    expect(
      await admin('POST', '/policy/simulate', { ...login, context: { ip: '198.51.100.1' } }),
    ).toMatchObject({ body: { decision: { denied: false, layers: ['passwordless', 'memorized_pin'] } } })
    const spec = await (await handler(new Request(`${BASE}/v1/openapi.json`))).json()
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/v1/admin/policy/simulate', '/v1/admin/users/{authid}/pin', '/v1/pin']),
    )

    // After a login that asked for it, the host may pass on the user's new PIN.
    await call('/v1/start', { ...login, context: { ip: '198.51.100.1' } })
    await f.engine.links.confirm(f.notifier.last().token as string)
    expect(await call('/v1/check', login)).toMatchObject({ status: 202, body: { next: 'memorized_pin' } })
    const done = await call('/v1/check', { ...login, pin: '582914' })
    expect(done).toMatchObject({ status: 200, body: { result: 'authenticated' } })
    const challengeId = done.body.challengeId
    // S23: an auth key may not; an admin key may.
    expect((await post('/v1/pin', { ...login, challengeId, pin: '604817' })).status).toBe(403)
    const asAdmin = { apikey: adminKey }
    expect(await call('/v1/pin', { ...login, challengeId, pin: '111111' }, asAdmin)).toMatchObject({
      status: 400,
      body: { field: 'pin' },
    })
    expect((await post('/v1/pin', { ...login, challengeId, pin: '604817' }, asAdmin)).status).toBe(204)
  })

  it('creates, lists and revokes keys, and filters and exports the audit trail', async () => {
    const created = await admin('POST', '/keys', { name: 'ci', scopes: ['auth'] })
    expect(created.body.key).toMatch(/^fsk_/)
    expect((await admin('GET', '/keys')).body.keys.map((k: { name: string }) => k.name).sort()).toEqual([
      'ci',
      'host',
      'ops',
    ])
    expect((await admin('DELETE', `/keys/${created.body.id}`)).status).toBe(204)
    const created2 = (await admin('GET', '/audit?type=apikey.created')).body
    expect(created2.events).toHaveLength(3)
    const ops = await f.engine.accounts.authenticateKey(adminKey)
    expect(created2.events[2].actor).toBe(ops?.keyId)
    const csv = (await admin('GET', '/audit?format=csv&type=apikey.revoked')).body as string
    expect(csv.split('\n')[0]).toBe(
      'seq,at,type,actor,system,authid,challengeId,outcome,reason,ip,userAgent,details,mac',
    )
    expect(csv.trim().split('\n')).toHaveLength(2)
    const jsonl = (await admin('GET', '/audit?format=jsonl')).body as string
    expect(
      jsonl
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).type),
    ).toContain('apikey.revoked')
    expect(await admin('GET', '/audit?limit=0')).toMatchObject({ status: 400, body: { field: 'limit' } })
    expect(await admin('GET', '/audit/verify')).toMatchObject({ status: 200, body: { ok: true } })
  })
})

describe('service routes', () => {
  it('serves an OpenAPI 3.1 document built from the request schemas', async () => {
    const doc = await (await handler(new Request(`${BASE}/v1/openapi.json`))).json()
    expect(doc.openapi).toBe('3.1.0')
    const start = doc.paths['/v1/start'].post.requestBody.content['application/json'].schema
    expect(start.required).toEqual(['system', 'authid'])
    expect(start.additionalProperties).toBe(false)
    expect(start.properties.authid.maxLength).toBe(256)
  })

  it('answers /healthz, counts starts and checks in /metrics, and 404s unknown routes as JSON', async () => {
    expect((await handler(new Request(`${BASE}/healthz`))).status).toBe(200)
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await call('/v1/start', login)
    await call('/v1/check', login)
    const text = await (
      await handler(new Request(`${BASE}/metrics`, { headers: { apikey: adminKey } }))
    ).text()
    expect(text).toContain('flexsecure_starts_total{result="success"} 1')
    expect(text).toContain('flexsecure_checks_total{result="pending"} 1')
    expect(text).toContain('flexsecure_deliveries_total{status="sent"} 1')
    const missing = await handler(new Request(`${BASE}/v2/nothing`))
    expect([missing.status, (await missing.json()).result]).toEqual([404, 'not found'])
  })
})
