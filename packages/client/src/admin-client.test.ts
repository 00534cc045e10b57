import { DeliveryError } from '@flexsecure/core'
import { ROUTES } from '@flexsecure/http/contract'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient } from './client.js'
import { FlexSecureHttpError } from './http-error.js'
import {
  contractBreaches,
  OPERATOR_KEY,
  ORIGIN,
  reachedRoutes,
  type ServedEngine,
  servedEngine,
} from './served-engine.js'

// Every admin and operator call against the real server; each answer is also held to the contract by
// `served-engine.ts`. The last test checks that together they reached every such route the server has.

let served: ServedEngine
beforeEach(async () => {
  served = await servedEngine()
})
afterEach(async () => {
  expect(contractBreaches()).toEqual([])
  await served.close()
})

const adminFor = () => createClient({ baseUrl: ORIGIN, apiKey: served.adminKey, fetch: served.fetch }).admin
const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

describe('admin', () => {
  it('manages systems with their policies, sensitivity, rules, messages and return URL', async () => {
    const admin = adminFor()
    const created = await admin.systems.create({
      name: 'hr',
      policies: { pin: { enabled: true, pinLength: 8 } },
      sensitivity: 'high',
      rules: [{ name: 'office only', when: { ipNotIn: ['10.0.0.0/8'] }, effect: { deny: true } }],
      messages: { appName: 'HR portal' },
    })
    expect(created).toMatchObject({
      name: 'hr',
      sensitivity: 'high',
      rules: [{ name: 'office only', when: { ipNotIn: ['10.0.0.0/8'] }, effect: { deny: true } }],
      rulesVersion: 1,
      messages: { appName: 'HR portal' },
      returnUrl: null,
      createdAt: iso,
    })
    expect(created.policies.pin).toMatchObject({ enabled: true, pinLength: 8 })
    const updated = await admin.systems.update('hr', { sensitivity: 'low', rules: [] })
    expect(updated).toMatchObject({ sensitivity: 'low', rules: [], rulesVersion: 2 })
    expect(await admin.systems.get('hr')).toEqual(updated)
    expect((await admin.systems.list()).map((system) => system.name).sort()).toEqual(['hr', 'payroll'])
  })

  it('simulates a start: the decision and the rule that matched, or the refusal', async () => {
    const admin = adminFor()
    await admin.systems.update('payroll', {
      rules: [{ name: 'strict', when: { sensitivityAtLeast: 'low' }, effect: { numberMatching: true } }],
    })
    const simulation = await admin.policy.simulate({ system: 'payroll', authid: 'alice' })
    expect(simulation).toMatchObject({
      result: 'decision',
      decision: { denied: false, numberMatching: true, matched: [{ rule: 'strict' }] },
    })
    expect(await admin.policy.simulate({ system: 'payroll', authid: 'nobody' })).toEqual({
      result: 'security error',
      reason: 'unknown_user',
    })
  })

  it('manages users with locale and attributes, their assignments, PINs, locks and removal', async () => {
    const admin = adminFor()
    const bob = await admin.users.create({
      authid: 'bob',
      email: 'bob@example.com',
      locale: 'de',
      attributes: { department: 'finance', level: 3 },
    })
    expect(bob).toMatchObject({
      authid: 'bob',
      locale: 'de',
      attributes: { department: 'finance', level: 3 },
    })
    expect(bob).toMatchObject({ status: 'active', hasMemorizedPin: false, phone: null, createdAt: iso })
    expect(await admin.users.update('bob', { displayName: 'Bob', phone: '+14155552672' })).toMatchObject({
      displayName: 'Bob',
      phone: '+14155552672',
    })
    expect(await admin.users.assign('bob', [{ system: 'payroll', method: 'pin', channel: 'sms' }])).toEqual([
      { system: 'payroll', method: 'pin', channel: 'sms' },
    ])
    expect(await admin.users.assignments('bob')).toEqual([
      { system: 'payroll', method: 'pin', channel: 'sms' },
    ])
    await admin.users.setPin('bob', '739146')
    expect(await admin.users.get('bob')).toMatchObject({ hasMemorizedPin: true })
    await admin.users.setPin('bob', null)
    expect(await admin.users.unlock('bob')).toEqual({ wasLocked: false })
    const page = await admin.users.list({ limit: 1 })
    expect(page).toEqual({ users: [expect.objectContaining({ authid: 'alice' })], next: expect.any(String) })
    expect(await admin.users.list({ after: page.next as string })).toMatchObject({
      users: [{ authid: 'bob' }],
    })
    expect(await admin.users.search({ query: 'bo' })).toMatchObject({
      users: [{ authid: 'bob' }],
      next: null,
    })
    await admin.users.remove('bob')
    expect(await admin.users.get('bob')).toBeNull()
  })

  it('sets the PIN a user chose right after a login (POST /v1/pin)', async () => {
    const client = createClient({ baseUrl: ORIGIN, apiKey: served.authKey, fetch: served.fetch })
    const started = await client.start({ system: 'payroll', authid: 'alice' })
    await served.engine.links.confirm(served.notifier.last().token as string)
    const challengeId = (started as { challengeId: string }).challengeId
    expect(await client.check({ system: 'payroll', authid: 'alice', challengeId })).toMatchObject({
      result: 'authenticated',
    })
    await adminFor().users.setPinAfterLogin({
      system: 'payroll',
      authid: 'alice',
      challengeId,
      pin: '739146',
    })
    expect(await adminFor().users.get('alice')).toMatchObject({ hasMemorizedPin: true })
  })

  it('manages API keys, sending a Date expiry as ISO 8601', async () => {
    const admin = adminFor()
    const expiresAt = new Date(Date.UTC(2027, 0, 1))
    const created = await admin.keys.create({ name: 'ci', scopes: ['auth'], expiresAt })
    expect(created).toMatchObject({ name: 'ci', scopes: ['auth'], expiresAt: '2027-01-01T00:00:00.000Z' })
    expect(created.key).toMatch(/^fsk_/)
    expect((await admin.keys.list()).map((key) => key.name).sort()).toEqual(['ci', 'host', 'ops'])
    expect(await admin.keys.revoke(created.id)).toBe(true)
    expect(await admin.keys.revoke(created.id)).toBe(false)
  })

  it('reads and changes the account settings, refusing an unknown one by name', async () => {
    const admin = adminFor()
    expect(await admin.settings.get()).toMatchObject({ uniformResponses: false, auditRetentionDays: null })
    const changed = await admin.settings.update({ uniformResponses: true, lockout: { freeFailures: 2 } })
    expect(changed).toMatchObject({ uniformResponses: true, lockout: { freeFailures: 2 } })
    const error = await admin.settings.update({ colour: 'red' } as never).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FlexSecureHttpError)
    expect(error).toMatchObject({ status: 400, body: { result: 'bad request' } })
  })

  it('lists, exports, searches and verifies the audit', async () => {
    const admin = adminFor()
    await admin.users.create({ authid: 'carol' })
    const page = await admin.audit.list({ authid: 'carol', since: new Date(0), limit: 10 })
    expect(page).toEqual({
      events: [expect.objectContaining({ type: 'user.created', authid: 'carol' })],
      next: null,
    })
    const lines = (await admin.audit.export({ authid: 'carol' }, 'jsonl')).trim().split('\n')
    expect(lines.map((line) => JSON.parse(line).type)).toEqual(['user.created'])
    expect(await admin.audit.export({ authid: 'carol' }, 'csv')).toContain('user.created')
    const newest = await admin.audit.search({ limit: 1 })
    expect(newest.events).toHaveLength(1)
    expect(newest.events[0]?.type).toBe('user.created')
    expect(await admin.audit.verify()).toMatchObject({ ok: true })
  })

  it('lists the outbox and requeues a waiting delivery, but not one already sent', async () => {
    const admin = adminFor()
    served.notifier.failNext(new DeliveryError('temporary', 'the provider is down'))
    await served.acme.start({ system: 'payroll', authid: 'alice' })
    const { deliveries } = await admin.deliveries.list({ queue: 'waiting' })
    expect(deliveries).toEqual([
      expect.objectContaining({ status: 'failed', channel: 'email', authid: 'alice' }),
    ])
    expect(await admin.deliveries.requeue(deliveries[0]?.id as string)).toBe(true)
    await served.acme.start({ system: 'payroll', authid: 'alice' })
    expect(await admin.deliveries.list({ queue: 'abandoned' })).toEqual({ deliveries: [], next: null })
    await expect(admin.deliveries.requeue('no-such-delivery')).resolves.toBe(false)
  })

  it('reads login statistics and the overview', async () => {
    const admin = adminFor()
    expect(await admin.stats.logins({ bucket: 'day', count: 2 })).toMatchObject({ bucket: 'day', behind: 0 })
    expect(await admin.stats.overview()).toMatchObject({ lockedUsers: 0, audit: { lastVerification: null } })
  })

  it('previews a message and grants a console role', async () => {
    const admin = adminFor()
    const preview = await admin.messages.preview({ locale: 'de', method: 'pin', channel: 'sms' })
    expect(preview).toMatchObject({ channel: 'sms', kind: 'pin', locale: 'de' })
    expect(await admin.console.grant('root', { role: 'admin', email: 'root@example.com' })).toEqual({
      role: 'admin',
      createdUser: true,
    })
  })

  it('reads the account’s metrics as text', async () => {
    expect(await adminFor().metrics()).toContain('# TYPE')
  })

  it('percent-encodes names and authids in paths so they cannot reach another route', async () => {
    const admin = adminFor()
    await admin.users.create({ authid: 'a/../keys?x=1#y %' })
    expect(await admin.users.get('a/../keys?x=1#y %')).toMatchObject({ authid: 'a/../keys?x=1#y %' })
    expect(await admin.users.unlock('a/../keys?x=1#y %')).toEqual({ wasLocked: false })
    expect(await admin.systems.get('Pay Roll/EU')).toBeNull()
  })

  it('refuses path segments a URL would resolve away, before any request', async () => {
    const admin = adminFor()
    for (const authid of ['', '.', '..']) await expect(admin.users.get(authid)).rejects.toThrow(TypeError)
    await expect(admin.systems.update('..', { policies: {} })).rejects.toThrow(TypeError)
    await expect(admin.keys.revoke('.')).rejects.toThrow(TypeError)
    expect(served.requests()).toBe(0)
  })

  it('throws rather than answer null when a 404 is not FlexSecure’s (a wrong base URL)', async () => {
    const admin = createClient({
      baseUrl: ORIGIN,
      apiKey: served.adminKey,
      fetch: async () => new Response('Not Found', { status: 404 }),
    }).admin
    await expect(admin.users.get('alice')).rejects.toMatchObject({ status: 404, body: 'Not Found' })
  })

  it('throws a FlexSecureHttpError naming what the server said: a conflict, a bad field, a missing user', async () => {
    const admin = adminFor()
    const conflict = await admin.users.create({ authid: 'alice' }).catch((e: unknown) => e)
    expect(conflict).toMatchObject({ status: 409, body: { result: 'conflict' } })
    const bad = await admin.users.update('alice', { email: 'not an address' }).catch((e: unknown) => e)
    expect(bad).toMatchObject({ status: 400, body: { result: 'bad request', field: 'email' } })
    expect((bad as Error).message).toContain('email')
    const missing = await admin.users.update('ghost', { displayName: 'x' }).catch((e: unknown) => e)
    expect(missing).toMatchObject({ status: 404, body: { result: 'not found' } })
  })
})

describe('operator', () => {
  it('creates, lists and reads accounts with an operator key; the new admin key works', async () => {
    const operator = createClient({ baseUrl: ORIGIN, apiKey: OPERATOR_KEY, fetch: served.fetch }).operator
    const created = await operator.accounts.create({ name: 'Globex' })
    expect(created).toMatchObject({
      name: 'Globex',
      createdAt: iso,
      adminKey: expect.stringMatching(/^fsk_/),
    })
    expect((await operator.accounts.list()).map((account) => account.name).sort()).toEqual(['Acme', 'Globex'])
    expect(await operator.accounts.get(created.id)).toEqual({
      id: created.id,
      name: 'Globex',
      createdAt: created.createdAt,
    })
    expect(await operator.accounts.get('no-such-account')).toBeNull()
    const globex = createClient({ baseUrl: ORIGIN, apiKey: created.adminKey, fetch: served.fetch }).admin
    expect(await globex.systems.list()).toEqual([])
  })

  it('refuses an account’s admin key, and reads readiness with any', async () => {
    const admin = createClient({ baseUrl: ORIGIN, apiKey: served.adminKey, fetch: served.fetch })
    await expect(admin.operator.accounts.list()).rejects.toMatchObject({ status: 403 })
    expect(await admin.operator.readiness()).toEqual({ status: 'ok' })
  })
})

describe('the client', () => {
  it('reached every admin and operator route the server serves, each answer within the contract', () => {
    const adminRoutes = ROUTES.filter((route) => route.access !== 'public' && route.access !== 'auth').map(
      (route) => `${route.method.toUpperCase()} ${route.path}`,
    )
    expect(adminRoutes.filter((route) => !reachedRoutes().has(route))).toEqual([])
  })
})
