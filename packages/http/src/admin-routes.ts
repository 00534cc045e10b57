import {
  type AccountHandle,
  AUDIT_CSV_COLUMNS,
  type AuditEvent,
  type AuditFilters,
  auditCsvLine,
  type KeyIdentity,
} from '@flexsecure/core'
import { Hono } from 'hono'
import { BadRequest, readJson } from './json-body.js'
import {
  AssignBody,
  KeyCreate,
  PinSet,
  SettingsUpdate,
  SimulateBody,
  SystemCreate,
  SystemUpdate,
  UserCreate,
  UserUpdate,
} from './schemas.js'

type Env = { Variables: { identity: KeyIdentity; account: AccountHandle } }

const ok = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  })

const AUDIT_FILTERS = ['system', 'authid', 'type', 'outcome'] as const

/** A whole-number query parameter within bounds, or undefined; a BadRequest naming it otherwise. */
export function whole(
  query: Record<string, string>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = query[name]
  if (value === undefined) return undefined
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < min || parsed > max)
    throw new BadRequest(400, `${name}: must be a whole number from ${min} to ${max}`, name)
  return parsed
}

/** An ISO 8601 query parameter, or undefined; a BadRequest naming it otherwise. */
export function date(query: Record<string, string>, name: string): Date | undefined {
  const value = query[name]
  if (value === undefined) return undefined
  const parsed = new Date(value)
  if (Number.isNaN(parsed.getTime())) throw new BadRequest(400, `${name}: must be an ISO 8601 date`, name)
  return parsed
}

/** The audit query's filters, from `?since=&until=&system=&authid=&type=&outcome=&after=&limit=`. */
function auditFilters(query: Record<string, string>): AuditFilters {
  const filters: Record<string, unknown> = {
    since: date(query, 'since'),
    until: date(query, 'until'),
    after: whole(query, 'after', 0, Number.MAX_SAFE_INTEGER),
    limit: whole(query, 'limit', 1, 1000),
  }
  for (const name of AUDIT_FILTERS)
    if (query[name] !== undefined) filters[name] = String(query[name]).slice(0, 256)
  return Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined)) as AuditFilters
}

/** Every matching event, page by page, as JSON Lines or CSV. */
function exportAudit(account: AccountHandle, filters: AuditFilters, format: 'jsonl' | 'csv'): Response {
  const encoder = new TextEncoder()
  const line = (event: AuditEvent) =>
    format === 'jsonl'
      ? `${JSON.stringify({ ...event, at: new Date(event.at).toISOString() })}\n`
      : auditCsvLine(event)
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      if (format === 'csv') controller.enqueue(encoder.encode(`${AUDIT_CSV_COLUMNS.join(',')}\n`))
      let after = filters.after
      for (;;) {
        const page = await account.audit.list({
          ...filters,
          limit: 500,
          ...(after !== undefined ? { after } : {}),
        })
        for (const event of page.events) controller.enqueue(encoder.encode(line(event)))
        if (page.next === null) break
        after = page.next
      }
      controller.close()
    },
  })
  return new Response(stream, {
    headers: {
      'content-type': format === 'jsonl' ? 'application/x-ndjson' : 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="audit.${format}"`,
      'cache-control': 'no-store',
    },
  })
}

/** `/v1/admin/…` for an `admin`-scoped key: systems, users, assignments, keys, settings, audit. */
export function adminRoutes(): Hono<Env> {
  const admin = new Hono<Env>()

  admin.get('/systems', async (c) => ok({ systems: await c.var.account.systems.list() }))
  admin.post('/systems', async (c) =>
    ok(await c.var.account.systems.create(await readJson(c.req.raw, SystemCreate)), 201),
  )
  admin.get('/systems/:name', async (c) => {
    const system = await c.var.account.systems.get(c.req.param('name'))
    return system
      ? ok(system)
      : ok({ result: 'not found', error: `system not found: ${c.req.param('name')}` }, 404)
  })
  admin.patch('/systems/:name', async (c) =>
    ok(await c.var.account.systems.update(c.req.param('name'), await readJson(c.req.raw, SystemUpdate))),
  )

  admin.get('/users', async (c) => {
    const query = c.req.query()
    const limit = whole(query, 'limit', 1, 1000)
    return ok(
      await c.var.account.users.list({
        ...(query.after !== undefined ? { after: query.after } : {}),
        ...(limit !== undefined ? { limit } : {}),
      }),
    )
  })
  admin.post('/users', async (c) =>
    ok(await c.var.account.users.create(await readJson(c.req.raw, UserCreate)), 201),
  )
  admin.get('/users/:authid', async (c) => {
    const user = await c.var.account.users.get(c.req.param('authid'))
    return user
      ? ok(user)
      : ok({ result: 'not found', error: `user not found: ${c.req.param('authid')}` }, 404)
  })
  admin.patch('/users/:authid', async (c) =>
    ok(await c.var.account.users.update(c.req.param('authid'), await readJson(c.req.raw, UserUpdate))),
  )
  admin.delete('/users/:authid', async (c) => {
    await c.var.account.users.remove(c.req.param('authid'))
    return new Response(null, { status: 204 })
  })
  admin.get('/users/:authid/assignments', async (c) =>
    ok({ assignments: await c.var.account.users.assignments(c.req.param('authid')) }),
  )
  admin.post('/users/:authid/assignments', async (c) => {
    const { assignments } = await readJson(c.req.raw, AssignBody)
    return ok({ assignments: await c.var.account.users.assign(c.req.param('authid'), assignments) })
  })
  admin.post('/users/:authid/unlock', async (c) =>
    ok(await c.var.account.users.unlock(c.req.param('authid'))),
  )
  admin.put('/users/:authid/pin', async (c) => {
    const { pin } = await readJson(c.req.raw, PinSet)
    await c.var.account.users.setPin(c.req.param('authid'), pin)
    return new Response(null, { status: 204 })
  })

  admin.post('/policy/simulate', async (c) =>
    ok(await c.var.account.simulate(await readJson(c.req.raw, SimulateBody))),
  )

  admin.get('/keys', async (c) => ok({ keys: await c.var.account.apiKeys.list() }))
  admin.post('/keys', async (c) => {
    const body = await readJson(c.req.raw, KeyCreate)
    return ok(
      await c.var.account.apiKeys.create({
        name: body.name,
        scopes: body.scopes,
        ...(body.expiresAt ? { expiresAt: new Date(body.expiresAt) } : {}),
      }),
      201,
    )
  })
  admin.delete('/keys/:id', async (c) =>
    (await c.var.account.apiKeys.revoke(c.req.param('id')))
      ? new Response(null, { status: 204 })
      : ok({ result: 'not found', error: 'no live key with that id' }, 404),
  )

  admin.get('/settings', async (c) => ok(await c.var.account.settings.get()))
  admin.patch('/settings', async (c) =>
    ok(await c.var.account.settings.update(await readJson(c.req.raw, SettingsUpdate))),
  )

  admin.get('/audit', async (c) => {
    const query = c.req.query()
    const filters = auditFilters(query)
    const format = query.format ?? 'json'
    if (format === 'jsonl' || format === 'csv') return exportAudit(c.var.account, filters, format)
    if (format !== 'json') throw new BadRequest(400, "format: must be 'json', 'jsonl' or 'csv'", 'format')
    return ok(await c.var.account.audit.list(filters))
  })
  admin.get('/audit/verify', async (c) => ok(await c.var.account.audit.verify()))

  return admin
}
