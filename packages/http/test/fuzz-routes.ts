// The routes the fuzz test aims at, each with a generator of requests that are valid for it (a real
// key of the right scope, the right content type, a body the schema and the engine accept) and the
// statuses such a request may get. Every route of the handler is here; a route added to the handler
// belongs here too.
import fc from 'fast-check'

/** What the generators may use of the state prepared before the run. */
export interface FuzzWorld {
  readonly keys: { readonly auth: string; readonly admin: string; readonly revoked: string }
  /** Keys the run may revoke (never the ones it calls with). */
  readonly spareKeyIds: readonly string[]
  /** Link tokens issued before the run: pending, superseded, later used or expired. */
  readonly tokens: readonly string[]
  /** The confirm page's form token for a link token, as a browser would post it back. */
  readonly formToken: (token: string) => string
}

/** A request a route accepts: its path (with query) and its JSON or form body. */
export interface ValidShape {
  readonly path: string
  readonly json?: unknown
  readonly form?: string
}

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  readonly route: string
  readonly scope: 'none' | 'auth' | 'admin'
  /** How often, relative to the others, a valid request goes to this route. */
  readonly weight: number
  /** What a valid request may be answered: the engine's outcomes, never 400, 413, 415 or a 5xx. */
  readonly expected: readonly number[]
  readonly valid: (world: FuzzWorld) => fc.Arbitrary<ValidShape>
}

const SYSTEMS = ['payroll', 'crm'] as const
const USERS = ['alice', 'bob', 'carol'] as const
/** Users the run creates and removes; removing alice or bob would only turn later logins into refusals. */
const spareUser = fc.integer({ min: 0, max: 40 }).map((n) => `user-${n}`)
const someUser = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...USERS) },
  { weight: 1, arbitrary: spareUser },
)
const someSystem = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SYSTEMS) },
  { weight: 1, arbitrary: fc.stringMatching(/^sys-[a-z0-9]{1,6}$/) },
)
const enc = encodeURIComponent
const ip = fc.oneof(fc.ipV4(), fc.constantFrom('2001:db8::7', '::ffff:203.0.113.9', '10.1.2.3'))
const context = fc.record(
  {
    ip,
    userAgent: fc.constantFrom('Mozilla/5.0 (X11; Linux x86_64)', 'curl/8.5.0', 'Acme app 1.2'),
    device: fc.stringMatching(/^[a-f0-9]{8,16}$/),
    resource: fc.constantFrom('salary', 'profile'),
    retries: fc.integer({ min: 0, max: 5 }),
    kiosk: fc.boolean(),
  },
  { requiredKeys: [] },
)
const pin = fc.oneof(fc.stringMatching(/^\d{8}$/), fc.integer({ min: 0, max: 99_999_999 }))
const id = fc.stringMatching(/^[A-Za-z0-9_-]{24}$/)
const GOOD_PINS = ['582914', '604817', '739251', '2749163']
const email = (name: string) => `${name.replace(/[^a-z0-9-]/g, '')}@example.com`
const rule = fc.record({
  name: fc.stringMatching(/^rule-[a-z]{1,8}$/),
  when: fc.record(
    {
      ipNotIn: fc.constant(['10.0.0.0/8']),
      sensitivityAtLeast: fc.constantFrom('low', 'medium', 'high'),
      timeIn: fc.record({
        timeZone: fc.constantFrom('UTC', 'Europe/Berlin'),
        days: fc.constant(['mon', 'tue']),
      }),
      newDevice: fc.boolean(),
    },
    { requiredKeys: [] },
  ),
  effect: fc.oneof(
    fc.constant({ maxLifetimeSeconds: 120 }),
    fc.constant({ maxAttempts: 3 }),
    fc.constant({ numberMatching: true }),
    fc.constant({ deny: true }),
  ),
})
const auditQuery = fc
  .record(
    {
      type: fc.constantFrom('challenge.started', 'apikey.created', 'delivery', 'link.confirmed'),
      limit: fc.integer({ min: 1, max: 50 }),
      authid: fc.constantFrom(...USERS),
      since: fc.constant('2026-01-01T00:00:00Z'),
    },
    { requiredKeys: [] },
  )
  .map((query) => new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString())

const json = (path: string) => (body: unknown) => ({ path, json: body })

/** Every route of the handler. */
export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'POST',
    route: '/v1/start',
    scope: 'auth',
    weight: 12,
    expected: [200, 403, 429],
    valid: () =>
      fc
        .record({ system: someSystem, authid: someUser, context }, { requiredKeys: ['system', 'authid'] })
        .map(json('/v1/start')),
  },
  {
    method: 'POST',
    route: '/v1/check',
    scope: 'auth',
    weight: 12,
    expected: [200, 202, 403, 429],
    valid: () =>
      fc
        .record(
          { system: someSystem, authid: someUser, pin, challengeId: id, context },
          { requiredKeys: ['system', 'authid'] },
        )
        .map(json('/v1/check')),
  },
  {
    method: 'POST',
    route: '/v1/redeem',
    scope: 'auth',
    weight: 2,
    // Same device: a code no confirmed link issued is refused (403 invalid_code), never a 400.
    expected: [200, 403],
    valid: () => fc.record({ code: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) }).map(json('/v1/redeem')),
  },
  {
    method: 'POST',
    route: '/v1/pin',
    scope: 'admin',
    weight: 1,
    // No login to set a PIN after is the engine's 400, naming challengeId.
    expected: [204, 400, 403, 404],
    valid: () =>
      fc
        .record({ system: someSystem, authid: someUser, challengeId: id, pin: fc.constantFrom(...GOOD_PINS) })
        .map(json('/v1/pin')),
  },
  {
    method: 'GET',
    route: '/v1/links/:token',
    scope: 'none',
    weight: 4,
    expected: [200, 404, 410],
    valid: (world) => linkToken(world).map((token) => ({ path: `/v1/links/${token}` })),
  },
  {
    method: 'POST',
    route: '/v1/links/:token',
    scope: 'none',
    weight: 4,
    // 400: the match code was wrong and attempts remain.
    expected: [200, 400, 404, 410],
    valid: (world) =>
      fc.tuple(linkToken(world), fc.option(fc.stringMatching(/^\d{3}$/))).map(([token, code]) => ({
        path: `/v1/links/${token}`,
        form: `form=${enc(world.formToken(token))}${code === null ? '' : `&code=${code}`}`,
      })),
  },
  // S38: /metrics takes an admin key (its account's figures) or the operator key; /readyz, none.
  {
    method: 'GET',
    route: '/metrics',
    scope: 'admin',
    weight: 1,
    expected: [200],
    valid: () => fc.constant({ path: '/metrics' }),
  },
  ...(['/healthz', '/readyz', '/v1/openapi.json'] as const).map(
    (path): RouteSpec => ({
      method: 'GET',
      route: path,
      scope: 'none',
      weight: 1,
      expected: [200],
      valid: () => fc.constant({ path }),
    }),
  ),
  admin('GET', '/systems', 1, [200], () => fc.constant({ path: '/systems' })),
  admin('POST', '/systems', 1, [201, 409], () =>
    fc
      .record(
        {
          name: fc.stringMatching(/^sys-[a-z0-9]{1,6}$/),
          policies: fc.record({
            passwordless: fc.record({ enabled: fc.boolean() }),
            pin: fc.record({
              enabled: fc.boolean(),
              pinLength: fc.integer({ min: 6, max: 10 }),
              attempts: fc.integer({ min: 1, max: 5 }),
              lifetimeSeconds: fc.integer({ min: 30, max: 300 }),
            }),
          }),
          sensitivity: fc.constantFrom('low', 'medium', 'high'),
        },
        { requiredKeys: ['name'] },
      )
      .map(json('/systems')),
  ),
  admin('GET', '/systems/:name', 1, [200, 404], () =>
    someSystem.map((name) => ({ path: `/systems/${name}` })),
  ),
  admin('PATCH', '/systems/:name', 2, [200, 404, 409], () =>
    fc
      .tuple(
        someSystem,
        fc.record(
          {
            sensitivity: fc.constantFrom('low', 'medium', 'high'),
            rules: fc.array(rule, { maxLength: 3 }).map(uniqueNames),
            messages: fc.record({ appName: fc.constantFrom('Payroll', 'Lohn') }),
          },
          { requiredKeys: [] },
        ),
      )
      .map(([name, body]) => ({ path: `/systems/${name}`, json: body })),
  ),
  admin('GET', '/users', 1, [200], () =>
    fc.record({ limit: fc.integer({ min: 1, max: 50 }), after: someUser }, { requiredKeys: [] }).map((q) => ({
      path: `/users?${new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)]))}`,
    })),
  ),
  admin('POST', '/users', 2, [201, 409], () =>
    fc
      .record({
        authid: spareUser,
        displayName: fc.constantFrom('Ana Núñez', 'Bo 😀', null),
        phone: fc.constantFrom('+14155552671', '+4915112345678', null),
        locale: fc.constantFrom('en', 'de'),
        attributes: fc.record({ dept: fc.constantFrom('hr', 'it'), level: fc.integer({ min: 1, max: 9 }) }),
      })
      .map((user) => ({ path: '/users', json: { ...user, email: email(user.authid) } })),
  ),
  admin('GET', '/users/:authid', 1, [200, 404], () => someUser.map((u) => ({ path: `/users/${u}` }))),
  admin('PATCH', '/users/:authid', 2, [200, 404], () =>
    fc
      .tuple(
        someUser,
        fc.record(
          {
            displayName: fc.constantFrom('Alice A.', 'Bob B.', null),
            locale: fc.constantFrom('en', 'de'),
            attributes: fc.record({ dept: fc.constantFrom('hr', 'it') }),
          },
          { requiredKeys: [] },
        ),
      )
      .map(([authid, body]) => ({ path: `/users/${authid}`, json: body })),
  ),
  admin('DELETE', '/users/:authid', 1, [204, 404], () => spareUser.map((u) => ({ path: `/users/${u}` }))),
  admin('GET', '/users/:authid/assignments', 1, [200, 404], () =>
    someUser.map((u) => ({ path: `/users/${u}/assignments` })),
  ),
  // Only to users whose addresses no request removes (a spare user made by an almost valid request
  // may have none, and the engine's 400 would be right); 404 once one was removed (a DELETE that an
  // almost valid request turned a GET into).
  admin('POST', '/users/:authid/assignments', 2, [200, 404], () =>
    fc
      .tuple(
        fc.constantFrom(...USERS),
        fc.constantFrom<{ system: string; method: string }[]>(
          [{ system: 'payroll', method: 'passwordless' }],
          [{ system: 'payroll', method: 'pin' }],
          [
            { system: 'payroll', method: 'pin' },
            { system: 'crm', method: 'passwordless' },
          ],
        ),
      )
      .map(([authid, assignments]) => ({ path: `/users/${authid}/assignments`, json: { assignments } })),
  ),
  admin('POST', '/users/:authid/unlock', 1, [200, 404], () =>
    someUser.map((u) => ({ path: `/users/${u}/unlock` })),
  ),
  admin('PUT', '/users/:authid/pin', 1, [204, 404], () =>
    fc
      .tuple(someUser, fc.constantFrom(...GOOD_PINS, null))
      .map(([authid, p]) => ({ path: `/users/${authid}/pin`, json: { pin: p } })),
  ),
  admin('POST', '/policy/simulate', 2, [200], () =>
    fc
      .record({ system: someSystem, authid: someUser, context }, { requiredKeys: ['system', 'authid'] })
      .map(json('/policy/simulate')),
  ),
  admin('GET', '/keys', 1, [200], () => fc.constant({ path: '/keys' })),
  admin('POST', '/keys', 1, [201], () =>
    fc
      .record({
        name: fc.stringMatching(/^key-[a-z]{1,8}$/),
        scopes: fc.subarray(['auth', 'admin'] as const, { minLength: 1 }),
      })
      .map(json('/keys')),
  ),
  admin('DELETE', '/keys/:id', 1, [204, 404], (world) =>
    fc.oneof(fc.constantFrom(...world.spareKeyIds), id).map((keyId) => ({ path: `/keys/${keyId}` })),
  ),
  admin('GET', '/settings', 1, [200], () => fc.constant({ path: '/settings' })),
  admin('PATCH', '/settings', 2, [200], () =>
    fc
      .record(
        {
          uniformResponses: fc.boolean(),
          sendLimits: fc.record(
            {
              perUserPerHour: fc.integer({ min: 1, max: 1000 }),
              perDestinationPerHour: fc.integer({ min: 1, max: 1000 }),
              resendCooldownSeconds: fc.integer({ min: 0, max: 60 }),
            },
            { requiredKeys: [] },
          ),
          lockout: fc.record({
            freeFailures: fc.integer({ min: 0, max: 10 }),
            lockAfter: fc.integer({ min: 20, max: 100 }),
          }),
          auditRetentionDays: fc.constantFrom(null, 30, 365),
          returnOrigins: fc.constant(['https://app.example.com']),
          messages: fc.constantFrom(null, {
            senderName: 'Acme Security',
            templates: { de: { smsPin: '{pin}\nIhr Code' } },
          }),
        },
        { requiredKeys: [] },
      )
      .map(json('/settings')),
  ),
  admin('GET', '/audit', 2, [200], () =>
    fc
      .tuple(auditQuery, fc.constantFrom('', '&format=json', '&format=jsonl', '&format=csv'))
      .map(([query, format]) => ({ path: `/audit?${query}${format}` })),
  ),
  admin('GET', '/audit/verify', 0.2, [200], () => fc.constant({ path: '/audit/verify' })),
]

function admin(
  method: RouteSpec['method'],
  route: string,
  weight: number,
  expected: readonly number[],
  valid: (world: FuzzWorld) => fc.Arbitrary<ValidShape>,
): RouteSpec {
  return {
    method,
    route: `/v1/admin${route}`,
    scope: 'admin',
    weight,
    expected,
    valid: (world) => valid(world).map((shape) => ({ ...shape, path: `/v1/admin${shape.path}` })),
  }
}

/** A token issued before the run, or one of the right shape that was never issued. */
const linkToken = (world: FuzzWorld) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...world.tokens) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{32}$/) },
  )

function uniqueNames<T extends { name: string }>(rules: T[]): T[] {
  return rules.filter((r, i) => rules.findIndex((other) => other.name === r.name) === i)
}
