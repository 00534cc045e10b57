import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@flexsecure/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LoopbackSmtp, loopbackSmtp } from '../../../adapters/smtp/test/loopback-smtp.js'
import { startServe } from '../test/serve-process.js'

let smtp: LoopbackSmtp
let dir: string

beforeAll(async () => {
  smtp = await loopbackSmtp()
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-smtp-serve-'))
})
afterAll(async () => {
  await smtp.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('flexsecure serve with FLEXSECURE_SMTP_URL', () => {
  it('emails the link instead of printing it, and the login completes', async () => {
    const server = await startServe({
      FLEXSECURE_DB: join(dir, 'fs.db'),
      FLEXSECURE_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      FLEXSECURE_MAIL_FROM: 'Acme sign-in <auth@acme.example>',
    })
    const output = server.output()
    try {
      for (let i = 0; i < 200 && !/auth key: {2}fsk_/.test(output); i++)
        await new Promise((r) => setTimeout(r, 50))
      expect(output).toContain(`Email goes out through SMTP at 127.0.0.1:${smtp.port}`)
      expect(output).not.toContain('PRINTED HERE')
      const url = /listening on (http:\/\/[\d.:]+)/.exec(output)?.[1] as string
      const client = createClient({
        baseUrl: url,
        apiKey: /auth key: {2}(fsk_\w+)/.exec(output)?.[1] as string,
      })
      expect(await client.start({ system: 'demo', authid: 'demo' })).toMatchObject({
        result: 'success',
        delivery: 'sent',
      })
      const mail = smtp.received.at(-1)
      expect(mail?.from?.value[0]).toMatchObject({ name: 'Acme sign-in', address: 'auth@acme.example' })
      expect(server.output()).not.toContain('--- development notifier')
      expect(output).toContain('open the link emailed to demo@example.com')
      const link = /(http:\/\/localhost:\d+\/v1\/links\/[\w-]{32})/.exec(mail?.text ?? '')?.[1] ?? ''
      expect(link).not.toBe('')
      const page = link.replace(/^http:\/\/localhost:\d+/, url)
      const form = /name="form" value="([^"]+)"/.exec(await (await fetch(page)).text())?.[1] as string
      await fetch(page, { method: 'POST', body: new URLSearchParams({ form }) })
      expect(await client.check({ system: 'demo', authid: 'demo' })).toMatchObject({
        result: 'authenticated',
      })
    } finally {
      await server.stop()
    }
  }, 30_000)
})
