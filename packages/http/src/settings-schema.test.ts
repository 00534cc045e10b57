import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type EngineFixture,
  engineFixture,
  TEST_SECRET,
} from '../../../adapters/sqlite/test/engine-fixture.js'
import { createHttpHandler } from './http-handler.js'

let f: EngineFixture
let handler: ReturnType<typeof createHttpHandler>
let adminKey: string

beforeEach(async () => {
  f = await engineFixture()
  handler = createHttpHandler({ engine: f.engine, secret: TEST_SECRET })
  adminKey = (await f.acme.apiKeys.create({ name: 'ops', scopes: ['admin'] })).key
})
afterEach(() => f.close())

const patch = async (body: unknown) => {
  const response = await handler(
    new Request('https://auth.example.com/v1/admin/settings', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', apikey: adminKey },
      body: JSON.stringify(body),
    }),
  )
  return { status: response.status, body: await response.json() }
}

describe('PATCH /v1/admin/settings', () => {
  it('refuses a mistyped send limit with 400, naming the valid ones, and changes nothing', async () => {
    const answer = await patch({ sendLimits: { perUserPerHr: 1 } })
    expect(answer).toMatchObject({ status: 400, body: { field: 'sendLimits' } })
    expect(answer.body.error).toBe(
      "unknown field 'perUserPerHr'; valid fields: perUserPerHour, perDestinationPerHour, perApiKeyPerMinute, perAccountPerDay, resendCooldownSeconds",
    )
    expect((await f.acme.settings.get()).sendLimits.perUserPerHour).toBe(5)
  })

  it('refuses a mistyped lockout setting the same way', async () => {
    const answer = await patch({ lockout: { lockAt: 3 } })
    expect(answer.status).toBe(400)
    expect(answer.body.error).toContain(
      'valid fields: freeFailures, baseDelaySeconds, maxDelaySeconds, lockAfter',
    )
  })

  it('documents the exact keys in the OpenAPI schema', async () => {
    const doc = await (await handler(new Request('https://auth.example.com/v1/openapi.json'))).json()
    const schema = doc.paths['/v1/admin/settings'].patch.requestBody.content['application/json'].schema
    expect(Object.keys(schema.properties.sendLimits.properties)).toEqual([
      'perUserPerHour',
      'perDestinationPerHour',
      'perApiKeyPerMinute',
      'perAccountPerDay',
      'resendCooldownSeconds',
    ])
    expect(schema.properties.lockout.additionalProperties).toBe(false)
  })
})

describe('PATCH /v1/admin/settings under operator ceilings (S18)', () => {
  it('refuses a looser limit with 400 naming the field and the ceiling, and changes nothing', async () => {
    await f.close()
    f = await engineFixture({
      ceilings: { sendLimits: { perUserPerHour: 20 }, lockout: { freeFailures: 5 } },
    })
    handler = createHttpHandler({ engine: f.engine, secret: TEST_SECRET })
    adminKey = (await f.acme.apiKeys.create({ name: 'ops', scopes: ['admin'] })).key
    const answer = await patch({ sendLimits: { perUserPerHour: 10_000_000 } })
    expect(answer).toEqual({
      status: 400,
      body: {
        result: 'bad request',
        field: 'settings.sendLimits.perUserPerHour',
        error:
          "settings.sendLimits.perUserPerHour: must be at most 20: the operator's ceiling (ceilings.sendLimits.perUserPerHour)",
      },
    })
    expect((await patch({ lockout: { freeFailures: 99 } })).body.field).toBe('settings.lockout.freeFailures')
    expect((await f.acme.settings.get()).sendLimits.perUserPerHour).toBe(5)
  })

  it('documents the refusal in the OpenAPI document', async () => {
    const doc = await (await handler(new Request('https://auth.example.com/v1/openapi.json'))).json()
    expect(doc.paths['/v1/admin/settings'].patch.responses['400'].description).toContain('ceiling')
  })
})
