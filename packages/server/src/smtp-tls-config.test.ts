import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DeliveryError, type Message } from '@flexsecure/core'
import { generate } from 'selfsigned'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LoopbackSmtp, loopbackSmtp } from '../../../adapters/smtp/test/loopback-smtp.js'
import { loadConfig } from './config.js'
import { deliveryFor } from './delivery.js'

let smtp: LoopbackSmtp
let dir: string
let caFile: string

beforeAll(async () => {
  const { private: key, cert } = await generate([{ name: 'commonName', value: 'mail.internal' }], {
    keySize: 2048,
  })
  smtp = await loopbackSmtp({ tls: { key, cert }, auth: { user: 'mailer', pass: 's3cret' } })
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-smtp-tls-'))
  caFile = join(dir, 'ca.pem')
  writeFileSync(caFile, cert)
}, 30_000)
afterAll(async () => {
  await smtp.close()
  rmSync(dir, { recursive: true, force: true })
})

const message: Message = {
  channel: 'email',
  to: 'alice@example.com',
  subject: 'Sign in',
  text: 'Your PIN is 12345678',
  kind: 'pin',
  locale: 'en',
  idempotencyKey: 'delivery-1',
}
const env = () => ({
  FLEXSECURE_DB: join(dir, 'fs.db'),
  FLEXSECURE_SECRET: 's'.repeat(40),
  FLEXSECURE_SMTP_URL: `smtp://mailer:s3cret@127.0.0.1:${smtp.port}`,
  FLEXSECURE_SMTP_REQUIRE_TLS: 'true',
})

describe('SMTP TLS settings', () => {
  it('trusts the CA file and checks the name given, over STARTTLS', async () => {
    const notifier = deliveryFor(
      loadConfig({
        ...env(),
        FLEXSECURE_SMTP_TLS_CA_FILE: caFile,
        FLEXSECURE_SMTP_TLS_SERVERNAME: 'mail.internal',
      }),
      () => {},
    )
    await notifier.send(message)
    expect(smtp.received.map((mail) => [mail.secure, mail.user])).toEqual([[true, 'mailer']])
  })

  it('refuses the certificate without the CA file, or with another name', async () => {
    const before = smtp.received.length
    const untrusted = await deliveryFor(loadConfig(env()), () => {})
      .send(message)
      .catch((error: unknown) => error)
    expect(untrusted).toBeInstanceOf(DeliveryError)
    const wrongName = await deliveryFor(
      loadConfig({
        ...env(),
        FLEXSECURE_SMTP_TLS_CA_FILE: caFile,
        FLEXSECURE_SMTP_TLS_SERVERNAME: 'other.internal',
      }),
      () => {},
    )
      .send(message)
      .catch((error: unknown) => error)
    expect(wrongName).toBeInstanceOf(DeliveryError)
    expect(smtp.received.length).toBe(before)
  })

  it('accepts it anyway when told not to verify (testing only)', async () => {
    const notifier = deliveryFor(
      loadConfig({ ...env(), FLEXSECURE_SMTP_TLS_REJECT_UNAUTHORIZED: 'false' }),
      () => {},
    )
    await expect(notifier.send(message)).resolves.toMatchObject({ providerId: expect.any(String) })
  })
})
