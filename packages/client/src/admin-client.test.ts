import { afterEach, describe, expect, it } from 'vitest'
import { createClient } from './client.js'
import { API_KEY, type Exchange, expectScriptsPlayed, fakeServer, ORIGIN } from './fake-server.js'
import { FlexSecureHttpError } from './http-error.js'

const system = {
  id: 'sys_1',
  name: 'payroll',
  policies: {
    passwordless: { enabled: true, channels: ['email'], lifetimeSeconds: 600 },
    pin: { enabled: false, channels: ['email', 'sms'], lifetimeSeconds: 300, pinLength: 8, attempts: 5 },
  },
  createdAt: '2026-01-01T09:00:00.000Z',
  updatedAt: '2026-01-01T09:00:00.000Z',
}
const user = {
  id: 'usr_1',
  authid: 'alice',
  displayName: 'Alice',
  email: 'alice@example.com',
  phone: null,
  status: 'active',
  createdAt: '2026-01-01T09:00:00.000Z',
  updatedAt: '2026-01-01T09:00:00.000Z',
}
const keyInfo = {
  id: 'key_1',
  name: 'portal',
  prefix: 'fsk_3fQ9aZ',
  scopes: ['auth'],
  createdAt: '2026-01-01T09:00:00.000Z',
  lastUsedAt: null,
  expiresAt: null,
  revokedAt: null,
}
const assignment = { system: 'payroll', method: 'passwordless', channel: null }

const adminFor = (exchanges: readonly Exchange[]) =>
  createClient({ baseUrl: ORIGIN, apiKey: API_KEY, fetch: fakeServer(exchanges).fetch }).admin

afterEach(() => {
  expectScriptsPlayed()
})

describe('admin', () => {
  it('manages systems on /v1/admin/systems', async () => {
    const admin = adminFor([
      { method: 'GET', path: '/v1/admin/systems', json: { systems: [system] } },
      { method: 'POST', path: '/v1/admin/systems', body: { name: 'payroll' }, status: 201, json: system },
      { method: 'GET', path: '/v1/admin/systems/payroll', json: system },
      {
        method: 'PATCH',
        path: '/v1/admin/systems/payroll',
        body: { policies: { pin: { enabled: true } } },
        json: system,
      },
    ])
    expect(await admin.systems.list()).toEqual([system])
    expect(await admin.systems.create({ name: 'payroll' })).toEqual(system)
    expect(await admin.systems.get('payroll')).toEqual(system)
    expect(await admin.systems.update('payroll', { policies: { pin: { enabled: true } } })).toEqual(system)
  })

  it('manages users and their assignments on /v1/admin/users', async () => {
    const admin = adminFor([
      { method: 'GET', path: '/v1/admin/users?after=alice&limit=50', json: { users: [user], next: null } },
      { method: 'GET', path: '/v1/admin/users', json: { users: [], next: null } },
      {
        method: 'POST',
        path: '/v1/admin/users',
        body: { authid: 'alice', email: 'alice@example.com' },
        status: 201,
        json: user,
      },
      { method: 'GET', path: '/v1/admin/users/alice', json: user },
      {
        method: 'PATCH',
        path: '/v1/admin/users/alice',
        body: { phone: null, status: 'disabled' },
        json: user,
      },
      {
        method: 'POST',
        path: '/v1/admin/users/alice/assignments',
        body: { assignments: [{ system: 'payroll', method: 'passwordless' }] },
        json: { assignments: [assignment] },
      },
      { method: 'GET', path: '/v1/admin/users/alice/assignments', json: { assignments: [assignment] } },
      { method: 'POST', path: '/v1/admin/users/alice/unlock', body: {}, json: { wasLocked: true } },
      { method: 'DELETE', path: '/v1/admin/users/alice', status: 204 },
    ])
    expect(await admin.users.list({ after: 'alice', limit: 50 })).toEqual({ users: [user], next: null })
    expect(await admin.users.list()).toEqual({ users: [], next: null })
    expect(await admin.users.create({ authid: 'alice', email: 'alice@example.com' })).toEqual(user)
    expect(await admin.users.get('alice')).toEqual(user)
    expect(await admin.users.update('alice', { phone: null, status: 'disabled' })).toEqual(user)
    expect(await admin.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])).toEqual([
      assignment,
    ])
    expect(await admin.users.assignments('alice')).toEqual([assignment])
    expect(await admin.users.unlock('alice')).toEqual({ wasLocked: true })
    await expect(admin.users.remove('alice')).resolves.toBeUndefined()
  })

  it('manages API keys on /v1/admin/keys, sending a Date expiry as ISO 8601', async () => {
    const created = { ...keyInfo, expiresAt: '2027-01-01T00:00:00.000Z', key: 'fsk_new' }
    const admin = adminFor([
      { method: 'GET', path: '/v1/admin/keys', json: { keys: [keyInfo] } },
      {
        method: 'POST',
        path: '/v1/admin/keys',
        body: { name: 'portal', scopes: ['auth'], expiresAt: '2027-01-01T00:00:00.000Z' },
        status: 201,
        json: created,
      },
      { method: 'DELETE', path: '/v1/admin/keys/key_1', status: 204 },
      {
        method: 'DELETE',
        path: '/v1/admin/keys/key_2',
        status: 404,
        json: { result: 'not found', error: 'no key' },
      },
    ])
    expect(await admin.keys.list()).toEqual([keyInfo])
    const key = await admin.keys.create({
      name: 'portal',
      scopes: ['auth'],
      expiresAt: new Date('2027-01-01T00:00:00.000Z'),
    })
    expect(key.key).toBe('fsk_new')
    expect(await admin.keys.revoke('key_1')).toBe(true)
    expect(await admin.keys.revoke('key_2')).toBe(false)
  })

  it('filters the audit with its query, dates as ISO 8601 and absent filters left out', async () => {
    const page = { events: [{ seq: 41, type: 'challenge.started' }], next: 41 }
    const admin = adminFor([
      {
        method: 'GET',
        path: '/v1/admin/audit?since=2026-01-01T00%3A00%3A00.000Z&system=pay+roll&outcome=failure&after=40&limit=1',
        json: page,
      },
      { method: 'GET', path: '/v1/admin/audit', json: { events: [], next: null } },
    ])
    expect(
      await admin.audit.list({
        since: new Date('2026-01-01T00:00:00.000Z'),
        system: 'pay roll',
        outcome: 'failure',
        after: 40,
        limit: 1,
      }),
    ).toEqual(page)
    expect(await admin.audit.list()).toEqual({ events: [], next: null })
  })

  it('percent-encodes names and authids in paths so they cannot reach another route', async () => {
    const admin = adminFor([
      { method: 'GET', path: '/v1/admin/users/a%2F..%2Fkeys%3Fx%3D1%23y%20%25', json: user },
      { method: 'POST', path: '/v1/admin/users/bob%2Funlock/unlock', body: {}, json: { wasLocked: false } },
      { method: 'GET', path: '/v1/admin/systems/Pay%20Roll%2FEU', json: system },
      { method: 'DELETE', path: '/v1/admin/keys/key%3F1', status: 204 },
    ])
    await admin.users.get('a/../keys?x=1#y %')
    await admin.users.unlock('bob/unlock')
    await admin.systems.get('Pay Roll/EU')
    await admin.keys.revoke('key?1')
  })

  it('refuses path segments a URL would resolve away, before any request', async () => {
    const admin = adminFor([])
    for (const authid of ['', '.', '..']) await expect(admin.users.get(authid)).rejects.toThrow(TypeError)
    await expect(admin.systems.update('..', { policies: {} })).rejects.toThrow(TypeError)
    await expect(admin.keys.revoke('.')).rejects.toThrow(TypeError)
  })

  it('answers null for a system or user the server does not know', async () => {
    const notFound = { status: 404, json: { result: 'not found', error: 'no such thing' } }
    const admin = adminFor([
      { method: 'GET', path: '/v1/admin/systems/ghost', ...notFound },
      { method: 'GET', path: '/v1/admin/users/ghost', ...notFound },
    ])
    expect(await admin.systems.get('ghost')).toBeNull()
    expect(await admin.users.get('ghost')).toBeNull()
  })

  it('throws rather than answer null when a 404 is not FlexSecure’s (a wrong base URL)', async () => {
    const admin = adminFor([{ method: 'GET', path: '/v1/admin/users/alice', status: 404, text: 'Not Found' }])
    await expect(admin.users.get('alice')).rejects.toMatchObject({ status: 404, body: 'Not Found' })
  })

  it.each([
    [400, { result: 'bad request', error: 'must be an address', field: 'email' }],
    [403, { result: 'security error', reason: 'forbidden_scope' }],
    [404, { result: 'not found', error: 'user not found: ghost' }],
    [409, { result: 'conflict', error: 'already taken', field: 'authid' }],
  ])('throws a FlexSecureHttpError for a %i, naming what the body says', async (status, json) => {
    const admin = adminFor([
      { method: 'PATCH', path: '/v1/admin/users/ghost', body: { email: 'x' }, status, json },
    ])
    const error = await admin.users.update('ghost', { email: 'x' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FlexSecureHttpError)
    expect(error).toMatchObject({ status, body: json })
    for (const said of Object.values(json)) expect((error as Error).message).toContain(said)
  })

  it('throws when a list answer does not hold its array under the expected name', async () => {
    const admin = adminFor([
      { method: 'GET', path: '/v1/admin/systems', json: { items: [] } },
      { method: 'GET', path: '/v1/admin/keys', json: [keyInfo] },
    ])
    await expect(admin.systems.list()).rejects.toMatchObject({ name: 'FlexSecureHttpError', status: 200 })
    await expect(admin.keys.list()).rejects.toMatchObject({ name: 'FlexSecureHttpError', status: 200 })
  })
})
