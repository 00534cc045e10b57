import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type EngineFixture,
  engineFixture,
  TEST_SECRET,
} from '../../../adapters/sqlite/test/engine-fixture.js'
import { createHttpHandler } from './http-handler.js'

const BASE = 'https://auth.example.com'
const RETURN = 'https://app.example.com/auth/return'
let f: EngineFixture
let handler: ReturnType<typeof createHttpHandler>
let authKey: string

beforeEach(async () => {
  f = await engineFixture()
  handler = createHttpHandler({ engine: f.engine, secret: TEST_SECRET, now: () => f.clock.now() })
  await f.acme.systems.update('payroll', { policies: { passwordless: { returnUrls: [RETURN] } } })
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
  authKey = (await f.acme.apiKeys.create({ name: 'host', scopes: ['auth'] })).key
})
afterEach(async () => {
  await f.close()
})

const api = (path: string, body: unknown, key = authKey) =>
  handler(
    new Request(`${BASE}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', apikey: key },
      body: JSON.stringify(body),
    }),
  )

/** Starts over HTTP with the return URL, opens the link's page and confirms it; returns the POST's answer. */
async function confirmOverHttp() {
  const started = await api('/v1/start', { system: 'payroll', authid: 'alice', returnUrl: RETURN })
  expect(started.status).toBe(200)
  const { challengeId } = (await started.json()) as { challengeId: string }
  const link = f.notifier.last().link as string
  const shown = await handler(new Request(link))
  const form = /name="form" value="([^"]+)"/.exec(await shown.text())?.[1] as string
  const confirmed = await handler(
    new Request(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `form=${encodeURIComponent(form)}`,
    }),
  )
  return { shown, confirmed, challengeId }
}

describe('same-device completion over HTTP', () => {
  it('refuses a start naming an unlisted return URL with 400', async () => {
    const answer = await api('/v1/start', {
      system: 'payroll',
      authid: 'alice',
      returnUrl: 'https://evil.example/auth/return',
    })
    expect(answer.status).toBe(400)
    expect(await answer.json()).toMatchObject({ result: 'bad request', field: 'returnUrl' })
  })

  it('lets the confirm form end at the return URL’s origin only, and answers the confirm with a 303 there', async () => {
    const { shown, confirmed } = await confirmOverHttp()
    expect(shown.headers.get('content-security-policy')).toContain(
      "form-action 'self' https://app.example.com;",
    )
    expect(confirmed.status).toBe(303)
    const location = new URL(confirmed.headers.get('location') as string)
    expect(`${location.origin}${location.pathname}`).toBe(RETURN)
    expect(location.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(confirmed.headers.get('referrer-policy')).toBe('no-referrer')
  })

  it('redeems the code once with the account’s auth key, for system, authid and challenge', async () => {
    const { confirmed, challengeId } = await confirmOverHttp()
    const code = new URL(confirmed.headers.get('location') as string).searchParams.get('code')
    const first = await api('/v1/redeem', { code })
    expect([first.status, await first.json()]).toEqual([
      200,
      { result: 'authenticated', system: 'payroll', authid: 'alice', challengeId },
    ])
    const again = await api('/v1/redeem', { code })
    expect([again.status, await again.json()]).toEqual([
      403,
      { result: 'security error', reason: 'invalid_code' },
    ])
  })

  it('refuses another account’s key, and a key without the auth scope', async () => {
    const other = f.engine.account((await f.engine.accounts.create({ name: 'Other' })).id)
    const otherKey = (await other.apiKeys.create({ name: 'theirs', scopes: ['auth'] })).key
    const adminKey = (await f.acme.apiKeys.create({ name: 'ops', scopes: ['admin'] })).key
    const { confirmed } = await confirmOverHttp()
    const code = new URL(confirmed.headers.get('location') as string).searchParams.get('code')
    expect(await (await api('/v1/redeem', { code }, otherKey)).json()).toEqual({
      result: 'security error',
      reason: 'invalid_code',
    })
    expect(await (await api('/v1/redeem', { code }, adminKey)).json()).toEqual({
      result: 'security error',
      reason: 'forbidden_scope',
    })
    expect((await api('/v1/redeem', { code })).status).toBe(200)
  })

  it('answers 400 for a malformed body and documents the route in OpenAPI', async () => {
    expect((await api('/v1/redeem', { code: 42 })).status).toBe(400)
    expect((await api('/v1/redeem', { code: 'x', extra: 1 })).status).toBe(400)
    const doc = (await (await handler(new Request(`${BASE}/v1/openapi.json`))).json()) as {
      paths: Record<string, { post?: { requestBody?: unknown } }>
    }
    expect(JSON.stringify(doc.paths['/v1/redeem']?.post?.requestBody)).toContain('"code"')
    expect(JSON.stringify(doc.paths['/v1/start']?.post?.requestBody)).toContain('"returnUrl"')
  })

  it('keeps the outcome page (no redirect) for a login that named no return URL', async () => {
    await api('/v1/start', { system: 'payroll', authid: 'alice' })
    const link = f.notifier.last().link as string
    const shown = await handler(new Request(link))
    expect(shown.headers.get('content-security-policy')).toContain("form-action 'self';")
    const form = /name="form" value="([^"]+)"/.exec(await shown.text())?.[1] as string
    const confirmed = await handler(
      new Request(link, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `form=${encodeURIComponent(form)}`,
      }),
    )
    expect(confirmed.status).toBe(200)
  })
})
