import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@flexsecure/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  checkTwilioRequest,
  fakeGateway,
  type Gateway,
  twilioCreated,
} from '../../../adapters/sms/test/fake-gateways.js'
import { startServe } from '../test/serve-process.js'

let twilio: Gateway
let dir: string

beforeAll(async () => {
  twilio = await fakeGateway((request) => {
    const form = new URLSearchParams(request.body)
    return { status: 201, json: twilioCreated(form.get('To') as string, form.get('Body') as string, 'SM99') }
  }, checkTwilioRequest)
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-sms-serve-'))
})
afterAll(async () => {
  await twilio.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('flexsecure serve with Twilio configured', () => {
  it('texts a one-time PIN through Twilio and the PIN signs the user in', async () => {
    const server = await startServe({
      FLEXSECURE_DB: join(dir, 'fs.db'),
      FLEXSECURE_TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      FLEXSECURE_TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      FLEXSECURE_TWILIO_FROM: '+15017122661',
      FLEXSECURE_TWILIO_BASE_URL: twilio.url,
    })
    const output = server.output()
    try {
      for (let i = 0; i < 200 && !/auth key: {2}fsk_/.test(output); i++)
        await new Promise((r) => setTimeout(r, 50))
      expect(output).toContain('SMS goes out through Twilio')
      expect(output).toContain('only SMS is configured')
      const url = /listening on (http:\/\/[\d.:]+)/.exec(output)?.[1] as string
      const admin = createClient({
        baseUrl: url,
        apiKey: /admin key: (fsk_\w+)/.exec(output)?.[1] as string,
      }).admin
      await admin.users.create({ authid: 'sam', phone: '+14155552671' })
      await admin.users.assign('sam', [{ system: 'demo', method: 'pin', channel: 'sms' }])
      const client = createClient({
        baseUrl: url,
        apiKey: /auth key: {2}(fsk_\w+)/.exec(output)?.[1] as string,
      })
      expect(await client.start({ system: 'demo', authid: 'sam' })).toMatchObject({
        result: 'success',
        delivery: 'sent',
      })
      expect(twilio.violations).toEqual([])
      const sent = new URLSearchParams(twilio.received.at(-1)?.body)
      expect(sent.get('To')).toBe('+14155552671')
      const pin = /\b(\d{8})\b/.exec(sent.get('Body') ?? '')?.[1] ?? ''
      expect(pin).toMatch(/^\d{8}$/)
      expect(await client.check({ system: 'demo', authid: 'sam', pin })).toMatchObject({
        result: 'authenticated',
      })
    } finally {
      await server.stop()
    }
  }, 30_000)
})
