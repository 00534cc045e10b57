import type { AccountHandle, KeyIdentity } from '@flexsecure/core'
import { Hono } from 'hono'
import { date, param, textValue, whole } from './admin-routes.js'
import { ConsoleGrantBody, PreviewBody } from './contract/requests.js'
import { readJson } from './json-body.js'
import type { ConnectionInfo } from './request-body.js'

// The admin routes the console's screens needed beyond the first admin API: user search,
// the outbox, login statistics, the newest audit events, message previews and console access. Each
// calls the account handle exactly as the console does, so the two can do the same things.

type Env = {
  Bindings: { connection?: ConnectionInfo }
  Variables: { identity: KeyIdentity; account: AccountHandle }
}

const ok = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  })

/** The given query parameters among `names`, each free text of at most 256 characters (S30). */
function texts<K extends string>(
  query: Record<string, string>,
  names: readonly K[],
): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {}
  for (const name of names)
    if (query[name] !== undefined && query[name] !== '') out[name] = textValue(query[name], name)
  return out
}

/** The routes; mounted under `/v1/admin` behind the admin key check. */
export function insightRoutes(): Hono<Env> {
  const admin = new Hono<Env>()

  admin.get('/user-search', async (c) => {
    const query = c.req.query()
    const limit = whole(query, 'limit', 1, 1000)
    const given = texts(query, ['query', 'by', 'status', 'after'] as const)
    return ok(
      await c.var.account.users.search({
        ...given,
        ...(limit !== undefined ? { limit } : {}),
      } as Parameters<AccountHandle['users']['search']>[0]),
    )
  })

  admin.get('/deliveries', async (c) => {
    const query = c.req.query()
    const limit = whole(query, 'limit', 1, 1000)
    const given = texts(query, ['queue', 'after'] as const)
    return ok(
      await c.var.account.deliveries.list({
        ...given,
        ...(limit !== undefined ? { limit } : {}),
      } as Parameters<AccountHandle['deliveries']['list']>[0]),
    )
  })
  admin.post('/deliveries/:id/requeue', async (c) => {
    const { requeued } = await c.var.account.deliveries.requeue(param(c, 'id'))
    return requeued
      ? ok({ requeued })
      : ok(
          {
            result: 'conflict',
            error: 'the delivery is not waiting for a retry (sent, abandoned, in flight, expired or unknown)',
          },
          409,
        )
  })

  admin.get('/stats/logins', async (c) => {
    const query = c.req.query()
    const count = whole(query, 'count', 1, 744)
    const until = date(query, 'until')
    const given = texts(query, ['bucket', 'system'] as const)
    return ok(
      await c.var.account.stats.logins({
        ...given,
        ...(count !== undefined ? { count } : {}),
        ...(until ? { until } : {}),
      } as Parameters<AccountHandle['stats']['logins']>[0]),
    )
  })
  admin.get('/stats/overview', async (c) => ok(await c.var.account.stats.overview()))

  admin.get('/audit/search', async (c) => {
    const query = c.req.query()
    const before = whole(query, 'before', 1, Number.MAX_SAFE_INTEGER)
    const limit = whole(query, 'limit', 1, 1000)
    const scan = whole(query, 'scan', 1, 200_000)
    const since = date(query, 'since')
    const until = date(query, 'until')
    return ok(
      await c.var.account.audit.search({
        ...texts(query, ['system', 'authid', 'type', 'outcome'] as const),
        ...(before !== undefined ? { before } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(scan !== undefined ? { scan } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
      }),
    )
  })

  admin.post('/messages/preview', async (c) => {
    const body = await readJson(c.req.raw, PreviewBody, c.env?.connection)
    return ok(await c.var.account.settings.previewMessage(body))
  })

  admin.put('/console/administrators/:authid', async (c) => {
    const body = await readJson(c.req.raw, ConsoleGrantBody, c.env?.connection)
    return ok(
      await c.var.account.console.grant({
        authid: param(c, 'authid'),
        role: body.role,
        ...(body.email !== undefined ? { email: body.email } : {}),
        ...(body.method !== undefined ? { method: body.method } : {}),
      }),
    )
  })

  return admin
}
