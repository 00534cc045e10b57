import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@flexsecure/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fakeGateway, type Gateway } from '../../../adapters/sms/test/fake-gateways.js'
import { type LoopbackSmtp, loopbackSmtp } from '../../../adapters/smtp/test/loopback-smtp.js'
import { runCli, startServe } from '../test/serve-process.js'

const HOOK_SECRET = 'hook-signing-secret'
let smtp: LoopbackSmtp
let gateway: Gateway
let dir: string

beforeAll(async () => {
  smtp = await loopbackSmtp()
  // A gateway that accepts only a body signed as the webhook adapter documents, with its API key header.
  gateway = await fakeGateway(
    () => ({ status: 200, json: { messageId: 'gw-1' } }),
    (request) => {
      const [t, v1] =
        /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(request.headers['x-flexsecure-signature']))?.slice(1) ?? []
      if (!t || v1 !== createHmac('sha256', HOOK_SECRET).update(`${t}.${request.body}`).digest('hex'))
        return 'signature'
      if (request.headers['x-api-key'] !== 'gw-key') return 'x-api-key'
      const body = JSON.parse(request.body)
      return typeof body.recipient === 'string' && typeof body.message === 'string' ? null : 'body template'
    },
  )
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-delivery-config-'))
})
afterAll(async () => {
  await smtp.close()
  await gateway.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('delivery settings reach the server', () => {
  it('sends SMS through a signed webhook, and email with a per-account sender and a Reply-To', async () => {
    const env = { FLEXSECURE_DB: join(dir, 'fs.db'), FLEXSECURE_SECRET: 's'.repeat(40) }
    const init = (name: string) => {
      const run = runCli(['init', '--name', name, '--json'], env)
      expect(run.code, run.out).toBe(0)
      return JSON.parse(run.stdout) as { id: string; adminKey: string; authKey: string }
    }
    const acme = init('Acme')
    const other = init('Other')
    const server = await startServe(
      {
        ...env,
        FLEXSECURE_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
        FLEXSECURE_MAIL_FROM: 'Sign-in <no-reply@host.example>',
        FLEXSECURE_MAIL_FROM_BY_ACCOUNT: JSON.stringify({ [acme.id]: 'Acme <auth@acme.example>' }),
        FLEXSECURE_MAIL_REPLY_TO: 'support@host.example',
        FLEXSECURE_SMS_WEBHOOK_URL: `${gateway.url}/send?token=abc`,
        FLEXSECURE_SMS_WEBHOOK_SIGNING_SECRET: HOOK_SECRET,
        FLEXSECURE_SMS_WEBHOOK_HEADERS: '{"x-api-key":"gw-key"}',
        FLEXSECURE_SMS_WEBHOOK_BODY: '{"recipient":"{{to}}","message":"{{text}}"}',
        FLEXSECURE_SMS_WEBHOOK_ID_FIELD: 'messageId',
      },
      { ready: /listening on http/ },
    )
    try {
      expect(server.output()).toContain(`SMS goes out through the webhook ${gateway.url}/send, signed.`)
      expect(server.output()).not.toContain('token=abc')
      for (const [tenant, authid] of [
        [acme, 'alice'],
        [other, 'olga'],
      ] as const) {
        const admin = createClient({ baseUrl: server.url, apiKey: tenant.adminKey }).admin
        await admin.systems.create({ name: 'app', policies: { pin: { enabled: true } } })
        await admin.users.create({ authid, email: `${authid}@example.com`, phone: '+14155552671' })
        await admin.users.assign(authid, [
          { system: 'app', method: 'pin', channel: authid === 'alice' ? 'email' : 'sms' },
        ])
        const client = createClient({ baseUrl: server.url, apiKey: tenant.authKey })
        expect(await client.start({ system: 'app', authid })).toMatchObject({
          result: 'success',
          delivery: 'sent',
        })
      }
      const mail = smtp.received.at(-1)
      expect(mail?.from?.value[0]).toMatchObject({ name: 'Acme', address: 'auth@acme.example' })
      expect(mail?.replyTo?.value[0]?.address).toBe('support@host.example')
      expect(gateway.violations).toEqual([])
      expect(JSON.parse(gateway.received.at(-1)?.body ?? '{}')).toMatchObject({
        recipient: '+14155552671',
        message: expect.stringMatching(/\d{8}/),
      })
    } finally {
      await server.stop()
    }
  }, 90_000)
})
