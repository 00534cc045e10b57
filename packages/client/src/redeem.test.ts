import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type EngineFixture,
  engineFixture,
  TEST_SECRET,
} from '../../../adapters/sqlite/test/engine-fixture.js'
import { createHttpHandler } from '../../http/src/http-handler.js'
import { createClient, type FlexSecureClient } from './client.js'

// `redeem` against the real handler (no scripted server): same-device completion end to end over HTTP.

const RETURN = 'http://127.0.0.1:3000/auth/return'
let f: EngineFixture
let handler: ReturnType<typeof createHttpHandler>
let client: FlexSecureClient

beforeEach(async () => {
  f = await engineFixture()
  handler = createHttpHandler({ engine: f.engine, secret: TEST_SECRET })
  await f.acme.systems.update('payroll', { policies: { passwordless: { returnUrls: [RETURN] } } })
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
  const { key } = await f.acme.apiKeys.create({ name: 'host', scopes: ['auth'] })
  client = createClient({
    baseUrl: 'https://auth.example.com',
    apiKey: key,
    fetch: (url, init) => handler(new Request(url, init)),
  })
})
afterEach(async () => {
  await f.close()
})

describe('redeem', () => {
  it('spends the code the return URL received, once, for the login’s identity', async () => {
    const started = await client.start({ system: 'payroll', authid: 'alice', returnUrl: RETURN })
    const confirmed = await f.engine.links.confirm(f.notifier.last().token as string)
    if (confirmed.result !== 'confirmed' || !confirmed.completionUrl) throw new Error('no completion URL')
    const code = new URL(confirmed.completionUrl).searchParams.get('code') as string
    expect(await client.redeem(code)).toEqual({
      result: 'authenticated',
      system: 'payroll',
      authid: 'alice',
      challengeId: started.result === 'success' ? started.challengeId : 'none',
    })
    expect(await client.redeem(code)).toEqual({ result: 'security error', reason: 'invalid_code' })
  })

  it('answers an unlisted return URL on start with a FlexSecureHttpError naming the field', async () => {
    await expect(
      client.start({ system: 'payroll', authid: 'alice', returnUrl: 'https://evil.example/' }),
    ).rejects.toMatchObject({ status: 400 })
  })
})
