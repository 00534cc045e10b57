import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type EngineFixture,
  engineFixture,
  TEST_SECRET,
} from '../../../adapters/sqlite/test/engine-fixture.js'
import { createLinkPagesHandler } from './link-pages-handler.js'

const BASE = 'https://app.example.com'
let f: EngineFixture
let authKey: string
let adminKey: string

beforeEach(async () => {
  f = await engineFixture()
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
  authKey = (await f.acme.apiKeys.create({ name: 'host', scopes: ['auth'] })).key
  adminKey = (await f.acme.apiKeys.create({ name: 'ops', scopes: ['admin', 'auth'] })).key
})
afterEach(async () => {
  await f.close()
})

const login = { system: 'payroll', authid: 'alice' }
const post = (
  handler: ReturnType<typeof createLinkPagesHandler>,
  path: string,
  body: unknown,
  key = authKey,
) =>
  handler(
    new Request(`${BASE}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', apikey: key },
      body: JSON.stringify(body),
    }),
  )

describe('createLinkPagesHandler', () => {
  it('serves the confirm page and consumes the link from its form, like the full handler', async () => {
    const linkPages = createLinkPagesHandler({ engine: f.engine, secret: TEST_SECRET })
    await f.acme.start(login)
    const token = f.notifier.last().token as string
    const shown = await linkPages(new Request(`${BASE}/v1/links/${token}`))
    const html = await shown.text()
    expect([shown.status, shown.headers.get('x-frame-options')]).toEqual([200, 'DENY'])
    expect(html).toContain('Sign in to payroll?')
    const form = /name="form" value="([^"]+)"/.exec(html)?.[1] as string
    const confirmed = await linkPages(
      new Request(`${BASE}/v1/links/${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Phone/2.0' },
        body: `form=${encodeURIComponent(form)}`,
      }),
      { remoteAddress: '198.51.100.23' },
    )
    expect([confirmed.status, await confirmed.text()]).toEqual([
      200,
      expect.stringContaining('You are signed in'),
    ])
    expect(await f.acme.check(login)).toMatchObject({ result: 'authenticated' })
    const { events } = await f.acme.audit.list({ type: 'link.confirmed' })
    expect(events[0]).toMatchObject({ ip: '198.51.100.23', userAgent: 'Phone/2.0' })
  })

  it('answers 404 for the operator’s routes: metrics, health, OpenAPI, admin, and start/check by default', async () => {
    const linkPages = createLinkPagesHandler({ engine: f.engine, secret: TEST_SECRET })
    for (const path of ['/metrics', '/healthz', '/v1/openapi.json', '/v1/admin/users'])
      expect([
        path,
        (await linkPages(new Request(`${BASE}${path}`, { headers: { apikey: adminKey } }))).status,
      ]).toEqual([path, 404])
    expect((await post(linkPages, '/v1/start', login)).status).toBe(404)
    expect((await post(linkPages, '/v1/check', login)).status).toBe(404)
    expect((await post(linkPages, '/v1/admin/users', { authid: 'mallory' }, adminKey)).status).toBe(404)
    expect(await f.acme.users.get('mallory')).toBeNull()
  })

  it('does not reach other routes through dot segments or encoded slashes in a link path', async () => {
    const linkPages = createLinkPagesHandler({ engine: f.engine, secret: TEST_SECRET })
    for (const path of [
      '/v1/links/../../metrics',
      '/v1/links/%2e%2e/%2e%2e/metrics',
      '/v1/links/x%2F..%2F..%2Fmetrics',
    ]) {
      const response = await linkPages(new Request(`${BASE}${path}`))
      expect([path, response.status]).toEqual([path, 404])
      expect(await response.text()).not.toContain('# TYPE')
    }
  })

  it('with `api: true` also serves start and check behind the API key, still not the admin API', async () => {
    const linkPages = createLinkPagesHandler({ engine: f.engine, secret: TEST_SECRET, api: true })
    expect((await post(linkPages, '/v1/start', login)).status).toBe(200)
    expect((await post(linkPages, '/v1/check', login)).status).toBe(202)
    expect((await post(linkPages, '/v1/check', login, 'fsk_wrong')).status).toBe(403)
    expect((await linkPages(new Request(`${BASE}/metrics`))).status).toBe(404)
    expect(
      (await linkPages(new Request(`${BASE}/v1/admin/users`, { headers: { apikey: adminKey } }))).status,
    ).toBe(404)
  })
})
