import { createHash, timingSafeEqual } from 'node:crypto'
import type { Engine } from '@flexsecure/core'
import { Hono } from 'hono'
import { AccountCreate } from './contract/requests.js'
import { readJson } from './json-body.js'
import { invalidKey } from './key-refusal.js'
import { type CommitStats, type Metrics, storageMetrics } from './metrics.js'

/** What the operator (who runs the server, above every account) configures for the HTTP layer. */
export interface OperatorOptions {
  /**
   * SHA-256 hex digests of the operator keys (`fso_…`, made by `flexsecure operator-key`). Without
   * one, `/v1/operator/` answers 403 and `/metrics` takes only an account's admin key.
   */
  readonly operatorKeySha256?: readonly string[]
  /** `/readyz`: reads the database; `pending` lists migrations not yet run. Throws when unreachable. */
  readonly readiness?: () => Promise<{ readonly pending: readonly string[] }>
  /**
   * The storage's commits and syncs so far, for the operator's `/metrics` only: they are the whole
   * database's, not an account's (S38). The SQLite storage's `commitStats`.
   */
  readonly commitStats?: () => CommitStats
}

/** The operator key's prefix: never an account key's (`fsk_`), so one can never pass for the other. */
export const OPERATOR_KEY_PREFIX = 'fso_'

const json = (body: unknown, status: number) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  })

/** Whether `key` is one of the configured operator keys, compared as digests in constant time (S9). */
export function isOperatorKey(key: string, digests: readonly string[]): boolean {
  if (!key.startsWith(OPERATOR_KEY_PREFIX) || digests.length === 0) return false
  const presented = createHash('sha256').update(key).digest()
  let match = false
  for (const digest of digests) {
    const expected = Buffer.from(digest, 'hex')
    if (expected.length === presented.length && timingSafeEqual(expected, presented)) match = true
  }
  return match
}

/**
 * `/readyz`, `/metrics` (S38: an operator key sees every account's figures added up, an account's admin
 * key only its own) and `/v1/operator/accounts`, which creates and lists accounts so that hosting many
 * tenants needs no shell on the server.
 */
export function operatorRoutes(engine: Engine, counters: Metrics, options: OperatorOptions): Hono {
  const app = new Hono()
  const digests = options.operatorKeySha256 ?? []
  const operator = (request: Request) => isOperatorKey(request.headers.get('apikey') ?? '', digests)

  app.get('/readyz', async () => {
    if (!options.readiness) return json({ status: 'ok', migrations: 'unknown' }, 200)
    try {
      const { pending } = await options.readiness()
      if (pending.length) return json({ status: 'unavailable', problem: 'migrations pending', pending }, 503)
      return json({ status: 'ok' }, 200)
    } catch (error) {
      console.error('[flexsecure] readiness: the database did not answer', (error as Error)?.message)
      return json({ status: 'unavailable', problem: 'database unreachable' }, 503)
    }
  })

  app.get('/metrics', async (c) => {
    const text = (body: string) =>
      new Response(body, {
        headers: { 'content-type': 'text/plain; version=0.0.4', 'cache-control': 'no-store' },
      })
    if (operator(c.req.raw)) return text(counters.render() + storageMetrics(options.commitStats?.()))
    const identity = await engine.accounts.authenticateKey(c.req.header('apikey') ?? '', { recordUse: false })
    if (!identity) return json(invalidKey(c.req.raw), 403)
    if (!identity.scopes.includes('admin'))
      return json({ result: 'security error', reason: 'forbidden_scope' }, 403)
    return text(counters.render(identity.account.id))
  })

  app.use('/v1/operator/*', async (c, next) => {
    if (!operator(c.req.raw)) return json({ result: 'security error', reason: 'invalid_key' }, 403)
    await next()
  })
  app.get('/v1/operator/accounts', async () => {
    const accounts = await engine.accounts.list()
    return json({ accounts: accounts.map(({ id, name, createdAt }) => ({ id, name, createdAt })) }, 200)
  })
  app.get('/v1/operator/accounts/:id', async (c) => {
    const account = await engine.accounts.get(c.req.param('id'))
    if (!account) return json({ result: 'not found', error: 'no such account' }, 404)
    return json({ id: account.id, name: account.name, createdAt: account.createdAt }, 200)
  })
  // A new tenant with its first admin key (shown once): the tenant's administrators take it from there.
  app.post('/v1/operator/accounts', async (c) => {
    const { name } = await readJson(c.req.raw, AccountCreate)
    const account = await engine.accounts.create({ name })
    const handle = engine.account(account.id, { actor: 'operator' })
    const admin = await handle.apiKeys.create({ name: 'first admin key', scopes: ['admin', 'auth'] })
    return json(
      {
        id: account.id,
        name: account.name,
        createdAt: account.createdAt,
        adminKey: admin.key,
        adminKeyId: admin.id,
      },
      201,
    )
  })
  return app
}
