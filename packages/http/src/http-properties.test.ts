import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type EngineFixture,
  engineFixture,
  TEST_SECRET,
} from '../../../adapters/sqlite/test/engine-fixture.js'
import { createHttpHandler } from './http-handler.js'

// Generated requests at every JSON route: whatever arrives, the answer is a documented status with a
// JSON body, and a request refused before the engine (400, 413, 415, a bad or wrong-scope key)
// changes no row. A good share must be well-formed enough to reach the engine, so this exercises more
// than the parser: the test counts them.

const BASE = 'https://auth.example.com'
const TABLES = [
  'fs_accounts',
  'fs_api_keys',
  'fs_systems',
  'fs_users',
  'fs_assignments',
  'fs_challenges',
  'fs_rate_limits',
  'fs_audit_events',
  'fs_audit_heads',
]

let f: EngineFixture
let handler: (request: Request) => Promise<Response>
const keys: Record<'auth' | 'admin' | 'revoked', string> = { auth: '', admin: '', revoked: '' }

beforeAll(async () => {
  // Throttling (S19, S31) is a subject of its own tests; here it would only turn calls into 429s.
  f = await engineFixture({ throttle: false })
  await f.acme.settings.update({
    sendLimits: { perUserPerHour: 1_000_000, perDestinationPerHour: 1_000_000 },
  })
  await f.acme.systems.create({ name: 'crm', policies: { passwordless: { enabled: true } } })
  await f.acme.users.create({ authid: 'bob', email: 'bob@example.com' })
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
  await f.acme.users.assign('bob', [{ system: 'crm', method: 'passwordless' }])
  keys.auth = (await f.acme.apiKeys.create({ name: 'auth', scopes: ['auth'] })).key
  keys.admin = (await f.acme.apiKeys.create({ name: 'admin', scopes: ['admin'] })).key
  const revoked = await f.acme.apiKeys.create({ name: 'old', scopes: ['auth', 'admin'] })
  await f.acme.apiKeys.revoke(revoked.id)
  keys.revoked = revoked.key
  handler = createHttpHandler({ engine: f.engine, secret: TEST_SECRET, now: () => f.clock.now() })
})
afterAll(async () => {
  await f.close()
})

const snapshot = () => JSON.stringify(TABLES.map((table) => f.rows(table)))

const name = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('payroll', 'crm', 'alice', 'bob') },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
)
const context = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.boolean()),
  { maxKeys: 4 },
)
const pin = fc.oneof(fc.stringMatching(/^\d{8}$/), fc.integer({ min: 0, max: 99_999_999 }))

/** Bodies shaped like the route expects (values may still be wrong), or anything at all. */
const wellFormed: Record<string, fc.Arbitrary<unknown>> = {
  '/v1/start': fc.record({ system: name, authid: name, context }, { requiredKeys: ['system', 'authid'] }),
  '/v1/check': fc.record({ system: name, authid: name, pin }, { requiredKeys: ['system', 'authid'] }),
  '/v1/admin/systems': fc.record(
    {
      name: fc.string({ minLength: 1, maxLength: 20 }),
      policies: fc.record({
        pin: fc.record({ enabled: fc.boolean(), pinLength: fc.integer({ min: 4, max: 12 }) }),
      }),
    },
    { requiredKeys: ['name'] },
  ),
  '/v1/admin/users': fc.record(
    {
      authid: fc.string({ minLength: 1, maxLength: 20 }),
      email: fc.oneof(fc.emailAddress(), fc.string()),
      phone: fc.constantFrom('+14155552671', '12345', null),
    },
    { requiredKeys: ['authid'] },
  ),
  '/v1/admin/users/alice/assignments': fc.record({
    assignments: fc.array(
      fc.record({ system: name, method: fc.constantFrom('pin', 'passwordless', 'totp') }),
      { minLength: 1, maxLength: 3 },
    ),
  }),
  '/v1/admin/keys': fc.record({
    name: fc.string({ minLength: 1, maxLength: 20 }),
    scopes: fc.subarray(['auth', 'admin'] as const, { minLength: 1 }),
  }),
}
const ROUTES = Object.keys(wellFormed)

const rawBody = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '{"system":"payroll","authid":"alice","__proto__":{"admin":true}}',
    '{"system":"payroll","authid":"alice","context":{"constructor":{"prototype":{"x":1}}}}',
    '[{"system":"payroll"}]',
    '{"system":',
    `{"system":"payroll","authid":"${'a'.repeat(70_000)}"}`,
    '{"system":{"$gt":""},"authid":"alice"}',
  ),
)

const request = fc.record({
  route: fc.constantFrom(...ROUTES),
  key: fc.oneof(
    { weight: 10, arbitrary: fc.constant('good') },
    { weight: 1, arbitrary: fc.constantFrom('revoked', 'garbage', 'missing', 'wrong scope') },
  ),
  contentType: fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
    { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', null) },
  ),
  shaped: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  seed: fc.integer(),
})

const DOCUMENTED: Record<string, number[]> = {
  '/v1/start': [200, 400, 403, 413, 415, 429],
  '/v1/check': [200, 202, 400, 403, 413, 415, 429],
  admin: [200, 201, 400, 403, 404, 409, 413, 415],
}
const ENGINE_REFUSALS = new Set(['invalid_key', 'forbidden_scope'])

describe('every JSON route, under generated requests', () => {
  it('answers a documented status with a JSON body, and a refused request changes no row', async () => {
    let reachedEngine = 0
    let total = 0
    await fc.assert(
      fc.asyncProperty(request, fc.option(rawBody, { nil: undefined }), async (r, raw) => {
        const isAdmin = r.route.startsWith('/v1/admin')
        const body =
          r.shaped || raw === undefined
            ? JSON.stringify(
                fc.sample(wellFormed[r.route] as fc.Arbitrary<unknown>, { seed: r.seed, numRuns: 1 })[0],
              )
            : raw
        const goodKey = isAdmin ? keys.admin : keys.auth
        const apikey =
          r.key === 'good'
            ? goodKey
            : r.key === 'revoked'
              ? keys.revoked
              : r.key === 'wrong scope'
                ? isAdmin
                  ? keys.auth
                  : keys.admin
                : r.key === 'garbage'
                  ? 'fsk_AAAA'
                  : null
        const headers: Record<string, string> = {}
        if (r.contentType) headers['content-type'] = r.contentType
        if (apikey) headers.apikey = apikey
        const before = snapshot()
        const response = await handler(new Request(`${BASE}${r.route}`, { method: 'POST', headers, body }))
        const text = await response.text()
        total += 1
        expect(DOCUMENTED[isAdmin ? 'admin' : r.route]).toContain(response.status)
        expect(response.headers.get('content-type')).toMatch(/^application\/json/)
        const answer = JSON.parse(text)
        expect(typeof answer).toBe('object')
        const refusedBeforeEngine =
          [400, 413, 415].includes(response.status) ||
          (response.status === 403 && ENGINE_REFUSALS.has(answer.reason))
        if (refusedBeforeEngine) expect(snapshot()).toBe(before)
        else if ([200, 201, 202, 403].includes(response.status)) reachedEngine += 1
        if (response.status === 400) expect(typeof answer.error).toBe('string')
      }),
      { numRuns: 400 },
    )
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
    // The engine answered (200/201/202, or 403 with an engine reason) for more than a third of them.
    console.log(`generated requests answered by the engine: ${reachedEngine} of ${total}`)
    expect(reachedEngine / total).toBeGreaterThan(1 / 3)
  }, 120_000)
})
