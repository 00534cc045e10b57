// Generated requests for the fuzz tests: valid ones (fuzz-routes.ts), almost valid ones (a valid
// request with one thing wrong: its method, key, content type, one field, its path), and hostile ones
// (anything, at any path, with bodies built to hurt: deep nesting, NUL, broken UTF-8, size, lies).
import fc from 'fast-check'
import { type FuzzWorld, ROUTES, type RouteSpec, type ValidShape } from './fuzz-routes.js'
import { type Json, mutateJson } from './json-mutations.js'

export type { FuzzWorld }

export interface GeneratedRequest {
  readonly kind: 'valid' | 'almost valid' | 'hostile'
  /** The route it was built for (`METHOD /pattern`), or `anywhere` for a hostile one. */
  readonly route: string
  readonly method: string
  /** Path and query, as sent. */
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string | Uint8Array
  /** For a valid request: the statuses it may get. */
  readonly expected?: readonly number[]
  /** Milliseconds the clock moves before the request (expiry, windows, delays). */
  readonly advanceMs: number
}

const keyFor = (world: FuzzWorld, scope: RouteSpec['scope']) =>
  scope === 'auth' ? world.keys.auth : scope === 'admin' ? world.keys.admin : undefined

function assemble(
  spec: RouteSpec,
  shape: ValidShape,
  world: FuzzWorld,
): Omit<GeneratedRequest, 'kind' | 'advanceMs'> {
  const headers: Record<string, string> = {}
  const key = keyFor(world, spec.scope)
  if (key) headers.apikey = key
  if (shape.json !== undefined) headers['content-type'] = 'application/json'
  if (shape.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
  const body = shape.json !== undefined ? JSON.stringify(shape.json) : shape.form
  return {
    route: `${spec.method} ${spec.route}`,
    method: spec.method,
    path: shape.path,
    headers,
    ...(body !== undefined ? { body } : {}),
  }
}

const advance = fc.oneof(
  { weight: 20, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 5_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 3_600_000 }) },
)

/** A valid request to any route, weighted by how often hosts call it. */
function validRequest(world: FuzzWorld) {
  return fc
    .oneof(
      ...ROUTES.map((spec) => ({
        weight: spec.weight * 10,
        arbitrary: spec.valid(world).map((shape) => ({ spec, shape })),
      })),
    )
    .map(({ spec, shape }) => ({ spec, request: assemble(spec, shape, world) }))
}

/** A valid request with exactly one thing wrong. */
function almostValidRequest(world: FuzzWorld) {
  return fc
    .tuple(validRequest(world), fc.nat(), fc.nat())
    .map(([{ request }, how, pick]): Omit<GeneratedRequest, 'kind' | 'advanceMs'> => {
      const headers: Record<string, string> = { ...request.headers }
      // The body's fields are where most things can be wrong: three chances in eight.
      switch (how % 8) {
        case 0: {
          const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'].filter(
            (m) => m !== request.method,
          )
          return { ...request, method: methods[pick % methods.length] as string }
        }
        case 1: {
          const keys = [undefined, 'fsk_garbage', world.keys.revoked, world.keys.auth, world.keys.admin]
          const key = keys[pick % keys.length]
          if (key === undefined) delete headers.apikey
          else headers.apikey = key
          return { ...request, headers }
        }
        case 2: {
          const types = [
            undefined,
            'text/plain',
            'application/jsonx',
            'multipart/form-data; boundary=x',
            'application/json; charset=utf-16',
          ]
          const type = types[pick % types.length]
          if (type === undefined) delete headers['content-type']
          else headers['content-type'] = type
          return { ...request, headers }
        }
        case 3:
        case 4:
        case 5: {
          if (typeof request.body !== 'string' || headers['content-type'] !== 'application/json') break
          return { ...request, body: mutateJson(JSON.parse(request.body) as Json, how >> 3, pick) }
        }
        case 6: {
          const segments = request.path.split('/')
          const bad = ['%00', '%2F..%2F', 'a'.repeat(300), '%E2%80%AE', '%ZZ', '..', '%C3%28', ''][
            pick % 8
          ] as string
          segments[segments.length - 1] = bad
          return { ...request, path: segments.join('/') }
        }
        default:
          if (request.body === undefined) break
          return { ...request, body: `${request.body}${request.body}` }
      }
      // Nothing to break there: break the key instead.
      return { ...request, headers: { ...headers, apikey: 'fsk_garbage' } }
    })
}

const PATHS = [
  '/v1/start',
  '/v1/check',
  '/v1/pin',
  '/v1/links/',
  '/v1/admin/',
  '/v1/admin/users/',
  '/v1/admin/systems/',
  '/v1/admin/keys/',
  '/v1/admin/audit',
  '/healthz',
  '/readyz',
  '/metrics',
  '/v1/operator/accounts',
  '/v1/openapi.json',
  '/',
  '/v2/',
  '/console/',
]
const nested = (depth: number, open: string, close: string, inner = '1') =>
  `${open.repeat(depth)}${inner}${close.repeat(depth)}`
const hostileBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.integer({ min: 9, max: 12_000 }).map((n) => nested(n, '[', ']', '')),
  fc
    .integer({ min: 9, max: 10_000 })
    .map((n) => `{"system":"payroll","authid":"alice","context":${nested(n, '{"a":', '}')}}`),
  fc.constantFrom(
    '{"system":"payroll","authid":"alice","__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '{"system":"pay\\u0000roll","authid":"al\\u0000ice"}',
    '{"system":"payroll","authid":"\\ud800"}',
    '{"system":"payroll","authid":"alice","pin":1e999}',
    '{"system":"payroll","system":"crm","authid":"alice"}',
    '{"name":"x","scopes":["auth","auth","admin"]}',
    `{"assignments":[${'{"system":"payroll","method":"pin"},'.repeat(200)}{}]}`,
    'null',
    '"string"',
    '',
    '\u0000\u0000\u0000',
    'form=abc&code=123&form=def',
    `${'a=1&'.repeat(2000)}form=x`,
    '--x\r\nContent-Disposition: form-data; name="form"\r\n\r\nabc\r\n--x--',
  ),
  fc.integer({ min: 65_000, max: 140_000 }).map((n) => `{"system":"payroll","authid":"${'a'.repeat(n)}"}`),
  fc.uint8Array({ minLength: 1, maxLength: 512 }),
  fc.constant(Uint8Array.from([0x7b, 0x22, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xff, 0x22, 0x7d])),
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200, unit: 'binary' }),
)
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,120}$/)

/** A hostile body at a real route, with the key and content type that get it read. */
function hostileBodyRequest(world: FuzzWorld) {
  return fc
    .tuple(validRequest(world), hostileBody)
    .map(([{ request }, body]): Omit<GeneratedRequest, 'kind' | 'advanceMs'> => ({ ...request, body }))
}

/** Anything, anywhere. */
function anywhereRequest(world: FuzzWorld) {
  return fc
    .record({
      method: fc.constantFrom(
        'GET',
        'POST',
        'PUT',
        'PATCH',
        'DELETE',
        'OPTIONS',
        'HEAD',
        'PROPFIND',
        'QUERY',
      ),
      base: fc.constantFrom(...PATHS),
      tail: fc.oneof(
        fc.constant(''),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
        fc.string({ maxLength: 40 }).map(encodeURIComponent),
        fc.constantFrom(
          '%00',
          '..%2F..%2Fetc%2Fpasswd',
          '%',
          '%E0%A4%A',
          '?a=%00&limit=1e9&format=xml',
          '/x/y/z',
        ),
      ),
      query: fc.option(fc.string({ maxLength: 60 }).map(encodeURIComponent)),
      key: fc.constantFrom(
        undefined,
        world.keys.auth,
        world.keys.admin,
        world.keys.revoked,
        `fsk_${'A'.repeat(4000)}`,
      ),
      contentType: fc.option(
        fc.oneof(
          fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/html'),
          headerValue,
        ),
      ),
      contentLength: fc.option(fc.constantFrom('0', '10', '-1', 'abc', '70000', '99999999999999999999')),
      extra: fc.dictionary(
        fc.constantFrom('user-agent', 'x-forwarded-for', 'accept', 'origin', 'cookie'),
        headerValue,
        {
          maxKeys: 3,
        },
      ),
      body: fc.option(hostileBody),
    })
    .map((r): Omit<GeneratedRequest, 'kind' | 'advanceMs'> => {
      const headers: Record<string, string> = { ...r.extra }
      if (r.key) headers.apikey = r.key
      if (r.contentType !== null) headers['content-type'] = r.contentType
      if (r.contentLength !== null) headers['content-length'] = r.contentLength
      const path = `${r.base}${r.tail}${r.query === null ? '' : `?q=${r.query}`}`
      return {
        route: 'anywhere',
        method: r.method,
        path,
        headers,
        ...(r.body !== null ? { body: r.body } : {}),
      }
    })
}

/**
 * The request mix: about 45% valid (each with the statuses it may get), 35% almost valid, 20% hostile,
 * and now and then the clock moves first.
 */
export function generatedRequest(world: FuzzWorld): fc.Arbitrary<GeneratedRequest> {
  return fc
    .tuple(
      fc.oneof(
        {
          weight: 45,
          arbitrary: validRequest(world).map(({ spec, request }) => ({
            ...request,
            kind: 'valid' as const,
            expected: spec.expected,
          })),
        },
        {
          weight: 35,
          arbitrary: almostValidRequest(world).map((request) => ({
            ...request,
            kind: 'almost valid' as const,
          })),
        },
        {
          weight: 10,
          arbitrary: hostileBodyRequest(world).map((request) => ({ ...request, kind: 'hostile' as const })),
        },
        {
          weight: 10,
          arbitrary: anywhereRequest(world).map((request) => ({ ...request, kind: 'hostile' as const })),
        },
      ),
      advance,
    )
    .map(([request, advanceMs]) => ({ ...request, advanceMs }))
}

/** Whether a web-standard Request can carry the body: a GET or HEAD cannot (over a socket it can). */
export const carriesBody = (generated: GeneratedRequest) =>
  generated.body !== undefined && generated.method !== 'GET' && generated.method !== 'HEAD'

/** The request as a web-standard Request for `base`. */
export function toRequest(generated: GeneratedRequest, base: string): Request {
  return new Request(`${base}${generated.path}`, {
    method: generated.method,
    headers: generated.headers,
    ...(carriesBody(generated) ? { body: generated.body as BodyInit } : {}),
  })
}

/** A request as one line for a failure report: what was sent, bodies cut to 300 characters. */
export function describeRequest(generated: GeneratedRequest): string {
  const body =
    generated.body === undefined
      ? ''
      : typeof generated.body === 'string'
        ? `${generated.body.length} characters: ${JSON.stringify(generated.body.slice(0, 200))}`
        : `${generated.body.length} bytes: ${Buffer.from(generated.body.subarray(0, 64)).toString('hex')}`
  return `${generated.kind} ${generated.method} ${generated.path.slice(0, 300)} ${JSON.stringify({ ...generated.headers, apikey: generated.headers.apikey?.slice(0, 12) })} ${body}`
}
