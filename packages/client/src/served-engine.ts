import { createHash } from 'node:crypto'
import { createEngine } from '@flexsecure/core'
import { captureNotifier, cheapHasher, manualClock } from '@flexsecure/core/testing'
import { createHttpHandler } from '@flexsecure/http'
import { ROUTES, type Route } from '@flexsecure/http/contract'
import { sqliteStorage } from '@flexsecure/sqlite'
import type { FetchLike } from './types.js'

// For the client's tests: the real server (createHttpHandler over an engine on an in-memory SQLite
// database) reached through `fetch`, and every JSON answer it gives held to the contract's shape for
// that route and status, strictly: a field the server sends that the contract does not name, or one
// it names that the server leaves out, fails the test that got it.

export const ORIGIN = 'https://auth.example.com'
const SECRET = 'client-test-secret-client-test-secret'
/** An operator key as `flexsecure operator-key` makes them: `fso_` and random characters. */
export const OPERATOR_KEY = 'fso_Client0Test0Operator0Key0xxxxxxxxxxxx'

/** The contract's route for a request, with its path parameters matched. */
function routeFor(method: string, pathname: string): Route | undefined {
  return (ROUTES as readonly Route[]).find(
    (route) =>
      route.method === method.toLowerCase() &&
      new RegExp(`^${route.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(pathname),
  )
}

/** Answers that broke the contract, kept even when the client turned them into an error. */
const breaches: string[] = []
/** The contract's routes the tests reached (`GET /v1/admin/users/{authid}`). */
const reached = new Set<string>()

/** Checks one answer against the contract; records and throws on a breach. */
async function holdToContract(method: string, url: URL, response: Response): Promise<void> {
  const route = routeFor(method, url.pathname)
  const breach = (what: string) => {
    const message = `${method} ${url.pathname} ${response.status}: ${what}`
    breaches.push(message)
    throw new Error(`the server broke the contract: ${message}`)
  }
  if (!route) return breach('no such route in the contract')
  reached.add(`${route.method.toUpperCase()} ${route.path}`)
  const answer = route.answers[response.status]
  if (answer === undefined) return breach('a status the contract does not list')
  if (typeof answer === 'string') return
  if (!(response.headers.get('content-type') ?? '').startsWith('application/json')) return
  const parsed = answer.safeParse(await response.clone().json())
  if (!parsed.success) breach(JSON.stringify(parsed.error.issues))
}

/** The contract's routes this test file has reached through the client. */
export const reachedRoutes = (): ReadonlySet<string> => reached

/** For `afterEach`: no answer the tests got broke the contract (even one the client turned into an error). */
export function contractBreaches(): string[] {
  return breaches.splice(0)
}

/** A fresh server: an account with keys, a system, a user, and the fetch that reaches it. */
export async function servedEngine(
  options: { readonly polling?: { burst?: number; perSecond?: number } } = {},
) {
  const clock = manualClock()
  const notifier = captureNotifier()
  const engine = createEngine({
    storage: sqliteStorage({ filename: ':memory:' }),
    notifier,
    clock,
    secret: SECRET,
    links: { baseUrl: ORIGIN },
    hasher: cheapHasher(),
    logger: { warn: () => {}, error: () => {} },
    ...(options.polling ? { throttle: { polls: options.polling } } : {}),
  })
  await engine.migrate()
  const { id } = await engine.accounts.create({
    name: 'Acme',
    settings: { sendLimits: { resendCooldownSeconds: 0 } },
  })
  const acme = engine.account(id)
  await acme.systems.create({
    name: 'payroll',
    policies: { passwordless: { enabled: true }, pin: { enabled: true } },
  })
  await acme.users.create({ authid: 'alice', email: 'alice@example.com', phone: '+14155552671' })
  await acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
  const authKey = (await acme.apiKeys.create({ name: 'host', scopes: ['auth'] })).key
  const adminKey = (await acme.apiKeys.create({ name: 'ops', scopes: ['admin'] })).key
  const handler = createHttpHandler({
    engine,
    secret: SECRET,
    now: () => clock.now(),
    operatorKeySha256: [createHash('sha256').update(OPERATOR_KEY).digest('hex')],
    readiness: async () => ({ pending: [] }),
  })
  let requests = 0
  const fetch: FetchLike = async (url, init) => {
    requests++
    const response = await handler(new Request(url, init), { remoteAddress: '203.0.113.7' })
    await holdToContract(init.method ?? 'GET', new URL(url), response)
    return response
  }
  return {
    engine,
    acme,
    clock,
    notifier,
    authKey,
    adminKey,
    fetch,
    /** How many requests reached the server. */
    requests: () => requests,
    close: () => engine.close(),
  }
}

export type ServedEngine = Awaited<ReturnType<typeof servedEngine>>
