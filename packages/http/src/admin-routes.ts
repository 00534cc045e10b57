import {
  type AccountHandle,
  type AuditFilters,
  type KeyIdentity,
  NO_CONTROL_CHARACTERS,
} from '@flexsecure/core'
import { type Context, Hono } from 'hono'
import { exportAudit } from './audit-export.js'
import { readJson } from './json-body.js'
import { BadRequest, type ConnectionInfo } from './request-body.js'
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

type Env = {
  Bindings: { connection?: ConnectionInfo }
  Variables: { identity: KeyIdentity; account: AccountHandle }
}

const ok = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  })

const AUDIT_FILTERS = ['system', 'authid', 'type', 'outcome'] as const
/** A path or query value: free text of at most 256 characters (S30), or a 400 naming it. */
function textValue(value: string, name: string): string {
  if (value.length > 256 || !NO_CONTROL_CHARACTERS.test(value))
    throw new BadRequest(400, `${name}: must be at most 256 characters, without control characters`, name)
  return value
}

/** A path parameter, checked like any other free text. */
const param = (c: Context<Env>, name: string) => textValue(c.req.param(name) ?? '', name)

function whole(query: Record<string, string>, name: string, min: number, max: number): number | undefined {
  const value = query[name]
  if (value === undefined) return undefined
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < min || parsed > max)
    throw new BadRequest(400, `${name}: must be a whole number from ${min} to ${max}`, name)
  return parsed
}

function date(query: Record<string, string>, name: string): Date | undefined {
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
    if (query[name] !== undefined) filters[name] = textValue(query[name], name)
  return Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined)) as AuditFilters
}

/** `/v1/admin/…` for an `admin`-scoped key: systems, users, assignments, keys, settings, audit. */
export function adminRoutes(): Hono<Env> {
  const admin = new Hono<Env>()

  admin.get('/systems', async (c) => ok({ systems: await c.var.account.systems.list() }))
  admin.post('/systems', async (c) =>
    ok(await c.var.account.systems.create(await readJson(c.req.raw, SystemCreate, c.env?.connection)), 201),
  )
  admin.get('/systems/:name', async (c) => {
    const system = await c.var.account.systems.get(param(c, 'name'))
    return system
      ? ok(system)
      : ok({ result: 'not found', error: `system not found: ${param(c, 'name')}` }, 404)
  })
  admin.patch('/systems/:name', async (c) =>
    ok(
      await c.var.account.systems.update(
        param(c, 'name'),
        await readJson(c.req.raw, SystemUpdate, c.env?.connection),
      ),
    ),
  )

  admin.get('/users', async (c) => {
    const query = c.req.query()
    const limit = whole(query, 'limit', 1, 1000)
    return ok(
      await c.var.account.users.list({
        ...(query.after !== undefined ? { after: textValue(query.after, 'after') } : {}),
        ...(limit !== undefined ? { limit } : {}),
      }),
    )
  })
  admin.post('/users', async (c) =>
    ok(await c.var.account.users.create(await readJson(c.req.raw, UserCreate, c.env?.connection)), 201),
  )
  admin.get('/users/:authid', async (c) => {
    const user = await c.var.account.users.get(param(c, 'authid'))
    return user ? ok(user) : ok({ result: 'not found', error: `user not found: ${param(c, 'authid')}` }, 404)
  })
  admin.patch('/users/:authid', async (c) =>
    ok(
      await c.var.account.users.update(
        param(c, 'authid'),
        await readJson(c.req.raw, UserUpdate, c.env?.connection),
      ),
    ),
  )
  admin.delete('/users/:authid', async (c) => {
    await c.var.account.users.remove(param(c, 'authid'))
    return new Response(null, { status: 204 })
  })
  admin.get('/users/:authid/assignments', async (c) =>
    ok({ assignments: await c.var.account.users.assignments(param(c, 'authid')) }),
  )
  admin.post('/users/:authid/assignments', async (c) => {
    const { assignments } = await readJson(c.req.raw, AssignBody, c.env?.connection)
    return ok({ assignments: await c.var.account.users.assign(param(c, 'authid'), assignments) })
  })
  admin.post('/users/:authid/unlock', async (c) => ok(await c.var.account.users.unlock(param(c, 'authid'))))
  admin.put('/users/:authid/pin', async (c) => {
    const { pin } = await readJson(c.req.raw, PinSet, c.env?.connection)
    await c.var.account.users.setPin(param(c, 'authid'), pin)
    return new Response(null, { status: 204 })
  })

  admin.post('/policy/simulate', async (c) =>
    ok(await c.var.account.simulate(await readJson(c.req.raw, SimulateBody, c.env?.connection))),
  )

  admin.get('/keys', async (c) => ok({ keys: await c.var.account.apiKeys.list() }))
  admin.post('/keys', async (c) => {
    const body = await readJson(c.req.raw, KeyCreate, c.env?.connection)
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
    (await c.var.account.apiKeys.revoke(param(c, 'id')))
      ? new Response(null, { status: 204 })
      : ok({ result: 'not found', error: 'no live key with that id' }, 404),
  )

  admin.get('/settings', async (c) => ok(await c.var.account.settings.get()))
  admin.patch('/settings', async (c) =>
    ok(await c.var.account.settings.update(await readJson(c.req.raw, SettingsUpdate, c.env?.connection))),
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
