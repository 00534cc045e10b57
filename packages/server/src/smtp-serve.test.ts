import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@flexsecure/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LoopbackSmtp, loopbackSmtp } from '../../../adapters/smtp/test/loopback-smtp.js'

const packageDir = new URL('..', import.meta.url).pathname
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
    const server = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
      cwd: packageDir,
      env: {
        ...process.env,
        FLEXSECURE_DB: join(dir, 'fs.db'),
        FLEXSECURE_PORT: '0',
        FLEXSECURE_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
        FLEXSECURE_MAIL_FROM: 'Acme sign-in <auth@acme.example>',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    server.stdout.on('data', (chunk) => {
      output += chunk
    })
    server.stderr.on('data', (chunk) => {
      output += chunk
    })
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
      expect(output).not.toContain('--- development notifier')
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
      server.kill('SIGTERM')
      await new Promise((resolve) => server.once('exit', resolve))
    }
  }, 30_000)
})
