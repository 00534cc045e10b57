// The admin API and the service routes, black-box through the handler.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BASE, type HandlerFixture, handlerFixture, login } from '../test/handler-fixture.js'

let f: HandlerFixture['f']
let handler: HandlerFixture['handler']
let adminKey: string
let post: HandlerFixture['post']
let call: HandlerFixture['call']

beforeEach(async () => {
  ;({ f, handler, adminKey, post, call } = await handlerFixture())
})
afterEach(async () => {
  await f.close()
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
