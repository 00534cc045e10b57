// The HTTP handler over a real engine on SQLite, with an auth key and an admin key: what the handler's
// black-box tests (http-handler.test.ts, admin-api.test.ts) share.
import {
  type EngineFixture,
  engineFixture,
  TEST_SECRET,
} from '../../../adapters/sqlite/test/engine-fixture.js'
import { createHttpHandler } from '../src/http-handler.js'

export const BASE = 'https://auth.example.com'
/** The login every test starts: alice on payroll. */
export const login = { system: 'payroll', authid: 'alice' }

export async function handlerFixture() {
  const f: EngineFixture = await engineFixture()
  const handler = createHttpHandler({ engine: f.engine, secret: TEST_SECRET, now: () => f.clock.now() })
  const authKey = (await f.acme.apiKeys.create({ name: 'host', scopes: ['auth'] })).key
  const adminKey = (await f.acme.apiKeys.create({ name: 'ops', scopes: ['admin'] })).key
  /** A JSON POST with the auth key unless `headers` say otherwise. */
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    handler(
      new Request(`${BASE}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', apikey: authKey, ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    )
  /** `post`, with the answer's status, parsed body and headers. */
  const call = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await post(path, body, headers)
    return { status: response.status, body: await response.json(), headers: response.headers }
  }
  return { f, handler, authKey, adminKey, post, call }
}

export type HandlerFixture = Awaited<ReturnType<typeof handlerFixture>>
