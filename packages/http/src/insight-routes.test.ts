import { DeliveryError } from '@flexsecure/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type EngineFixture,
  engineFixture,
  TEST_SECRET,
} from '../../../adapters/sqlite/test/engine-fixture.js'
import { createHttpHandler } from './http-handler.js'
import { openApiDocument } from './openapi.js'

const BASE = 'https://auth.example.com'
let f: EngineFixture
let handler: ReturnType<typeof createHttpHandler>
let adminKey: string
let authKey: string

beforeEach(async () => {
  f = await engineFixture()
  handler = createHttpHandler({ engine: f.engine, secret: TEST_SECRET, now: () => f.clock.now() })
  adminKey = (await f.acme.apiKeys.create({ name: 'ops', scopes: ['admin'] })).key
  authKey = (await f.acme.apiKeys.create({ name: 'host', scopes: ['auth'] })).key
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
})
afterEach(() => f.close())

const call = async (method: string, path: string, body?: unknown, key = adminKey) => {
  const response = await handler(
    new Request(`${BASE}${path}`, {
      method,
      headers: { apikey: key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  )
  return { status: response.status, body: await response.json() }
}

describe('the console’s admin routes', () => {
  it('refuses an auth key on every one of them', async () => {
    for (const op of [
      ['GET', '/v1/admin/user-search'],
      ['GET', '/v1/admin/deliveries'],
      ['POST', '/v1/admin/deliveries/x/requeue'],
      ['GET', '/v1/admin/stats/logins'],
      ['GET', '/v1/admin/stats/overview'],
      ['GET', '/v1/admin/audit/search'],
      ['POST', '/v1/admin/messages/preview'],
      ['PUT', '/v1/admin/console/administrators/alice'],
    ] as const)
      expect(await call(op[0], op[1], op[0] === 'GET' ? undefined : {}, authKey)).toMatchObject({
        status: 403,
        body: { reason: 'forbidden_scope' },
      })
  })

  it('searches users with paging, and names a bad parameter', async () => {
    for (const authid of ['ann', 'anna', 'anne']) await f.acme.users.create({ authid })
    const first = await call('GET', '/v1/admin/user-search?query=ann&limit=2')
    expect(first).toMatchObject({ status: 200, body: { users: [{ authid: 'ann' }, { authid: 'anna' }] } })
    const rest = await call('GET', `/v1/admin/user-search?query=ann&after=${first.body.next}`)
    expect(rest.body).toMatchObject({ users: [{ authid: 'anne' }], next: null })
    expect(await call('GET', '/v1/admin/user-search?by=secret&query=x')).toMatchObject({
      status: 400,
      body: { field: 'by' },
    })
    expect(await call('GET', '/v1/admin/user-search?limit=0')).toMatchObject({
      status: 400,
      body: { field: 'limit' },
    })
  })

  it('lists the outbox and requeues a waiting delivery once', async () => {
    f.notifier.failNext(new DeliveryError('temporary', '421 busy'))
    await f.acme.start({ system: 'payroll', authid: 'alice' })
    const listed = await call('GET', '/v1/admin/deliveries?queue=waiting')
    expect(listed.body.deliveries).toMatchObject([
      { status: 'failed', authid: 'alice', destination: 'a***@example.com' },
    ])
    expect(JSON.stringify(listed.body)).not.toContain('alice@example.com')
    const id = listed.body.deliveries[0].id
    expect(await call('POST', `/v1/admin/deliveries/${id}/requeue`)).toEqual({
      status: 200,
      body: { requeued: true },
    })
    await f.engine.deliverDue()
    expect(await call('POST', `/v1/admin/deliveries/${id}/requeue`)).toMatchObject({ status: 409 })
    expect(await call('GET', '/v1/admin/deliveries?queue=sent')).toMatchObject({
      status: 400,
      body: { field: 'queue' },
    })
  })

  it('answers login statistics and the overview', async () => {
    await f.acme.start({ system: 'payroll', authid: 'alice' })
    await f.engine.links.confirm(f.notifier.last().token ?? '')
    await f.acme.check({ system: 'payroll', authid: 'alice' })
    const stats = await call('GET', '/v1/admin/stats/logins?bucket=hour&count=2')
    expect(stats.body).toMatchObject({
      bucket: 'hour',
      systems: [{ system: 'payroll', succeeded: 1, failed: 0 }],
    })
    expect(stats.body.buckets).toHaveLength(2)
    expect(await call('GET', '/v1/admin/stats/overview')).toMatchObject({
      status: 200,
      body: { pendingChallenges: 0, lockedUsers: 0, deliveries: { waiting: 0, abandonedLastDay: 0 } },
    })
    expect(await call('GET', '/v1/admin/stats/logins?bucket=week')).toMatchObject({
      status: 400,
      body: { field: 'bucket' },
    })
  })

  it('searches the audit trail newest first', async () => {
    await f.acme.users.create({ authid: 'bob' })
    const found = await call('GET', '/v1/admin/audit/search?type=user.created&limit=1')
    expect(found.body.events).toMatchObject([{ type: 'user.created', authid: 'bob' }])
    expect(await call('GET', '/v1/admin/audit/search?since=yesterday')).toMatchObject({
      status: 400,
      body: { field: 'since' },
    })
  })

  it('previews a message, and names what is wrong with a draft', async () => {
    expect(
      await call('POST', '/v1/admin/messages/preview', {
        locale: 'de',
        method: 'passwordless',
        channel: 'email',
      }),
    ).toMatchObject({ status: 200, body: { subject: 'Anmeldung bei Acme', locale: 'de' } })
    expect(
      await call('POST', '/v1/admin/messages/preview', {
        locale: 'en',
        method: 'pin',
        channel: 'sms',
        messages: { templates: { en: { smsPin: 'no placeholder' } } },
      }),
    ).toMatchObject({ status: 400, body: { field: 'messages.templates.en.smsPin' } })
  })

  it('gives and takes console roles', async () => {
    expect(
      await call('PUT', '/v1/admin/console/administrators/root', {
        role: 'admin',
        email: 'root@example.com',
      }),
    ).toEqual({ status: 200, body: { role: 'admin', createdUser: true } })
    expect((await f.acme.users.get('root'))?.attributes).toEqual({ consoleRole: 'admin' })
    expect(await call('PUT', '/v1/admin/console/administrators/root', { role: null })).toMatchObject({
      status: 200,
    })
    expect(await call('PUT', '/v1/admin/console/administrators/ghost', { role: 'viewer' })).toMatchObject({
      status: 404,
    })
    expect(await call('PUT', '/v1/admin/console/administrators/root', { role: 'owner' })).toMatchObject({
      status: 400,
      body: { field: 'role' },
    })
  })

  it('are described in the OpenAPI document', () => {
    const paths = Object.keys(openApiDocument().paths)
    for (const path of [
      '/v1/admin/user-search',
      '/v1/admin/deliveries/{id}/requeue',
      '/v1/admin/messages/preview',
    ])
      expect(paths).toContain(path)
  })
})
