import { afterEach, describe, expect, it } from 'vitest'
import { DeliveryError } from '../domain/errors.js'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'
import { redactProviderError } from './provider-error-redaction.js'

// S26: a provider that echoed the URL-encoded link in its error put the token in the
// audit, the delivery row and the log; only the link as written and `/v1/links/<token>` were cut.

const TOKEN = 'Vq3_kd-8ZpXw0Lr2Nc7YhT5mJb9Ue1Sa'
const LINK = `https://auth.example.com/v1/links/${TOKEN}`
const PIN = '04817263'
const ADDRESS = 'alice+work@example.com'
const SECRETS = [LINK, ADDRESS]
const message = `Hello Alice,\n\nSign in to payroll with this link:\n${LINK}\n\nSent to ${ADDRESS}`

const percentEveryByte = (text: string) =>
  [...Buffer.from(text)].map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`).join('')
const quotedPrintable = (text: string) => text.replace(/(.{20})/g, '$1=\r\n')
const htmlEntities = (text: string) => text.replace(/[/:@.+]/g, (c) => `&#x${c.charCodeAt(0).toString(16)};`)

const wrapped = (base64: string, width: number) => base64.replace(new RegExp(`(.{${width}})`, 'g'), '$1\r\n')

/** The message as providers echo it back, each with the shape of error text it might come in. */
const ECHOES: [string, (text: string) => string][] = [
  ['as written', (t) => `550 rejected: ${t}`],
  ['URL-encoded', (t) => `400 Bad Request: Body=${encodeURIComponent(t)}`],
  ['form-encoded', (t) => `21211 invalid: ${new URLSearchParams({ Body: t, To: ADDRESS })}`],
  ['URL-encoded twice', (t) => `error in ${encodeURIComponent(encodeURIComponent(t))}`],
  ['every byte percent-encoded', (t) => `bad ${percentEveryByte(t)}`],
  ['JSON with escaped slashes', (t) => JSON.stringify({ error: t }).replace(/\//g, '\\/')],
  [
    'JSON with \\u escapes',
    (t) => JSON.stringify({ text: t }).replace(/[/_-]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`),
  ],
  ['HTML entities', (t) => `<p>${htmlEntities(t)}</p>`],
  ['quoted-printable soft breaks', (t) => `552 message: ${quotedPrintable(t)}`],
  ['base64', (t) => `MIME part: ${Buffer.from(t).toString('base64')}`],
  ['base64, shifted by one byte', (t) => Buffer.from(`x${t}`).toString('base64')],
  ['base64, shifted by two bytes', (t) => Buffer.from(`xy${t}`).toString('base64')],
  ['base64url', (t) => Buffer.from(` ${t}`).toString('base64url')],
  // A raw MIME part wraps its base64 at 76 characters (RFC 2045), PEM-like dumps at 64: the token then
  // spans two lines wherever the wrap falls inside it.
  ...[76, 64].flatMap((width) =>
    ['', 'x', 'xy'].map((shift): [string, (text: string) => string] => [
      `base64 wrapped at ${width} columns, shifted by ${shift.length}`,
      (t) => `552 5.7.0 rejected part:\r\n${wrapped(Buffer.from(shift + t).toString('base64'), width)}`,
    ]),
  ),
]

/** Undoes each encoding of ECHOES the way a reader would, one after the other. */
function readable(text: string): string {
  let plain = text
    .replace(/=\r\n/g, '')
    .replace(/\\u([0-9a-f]{4})/g, (_, hex) => String.fromCharCode(Number.parseInt(hex, 16)))
  plain = plain
    .replace(/\\\//g, '/')
    .replace(/&#x([0-9a-f]+);/g, (_, hex) => String.fromCharCode(Number.parseInt(hex, 16)))
  for (let i = 0; i < 3; i++) plain = decodeURIComponent(plain.replace(/%(?![0-9A-Fa-f]{2})/g, '%25'))
  return plain.toLowerCase()
}

/** Whether `text` still holds `secret` in any form a reader could recover it from. */
function reveals(text: string, secret: string): boolean {
  const plain = readable(text)
  // Base64 lines joined again, as a reader of a wrapped MIME part would (the redaction turns line breaks
  // into spaces).
  const runs = (text.match(/[A-Za-z0-9+/_-]{8,}(?:\s+[A-Za-z0-9+/_=-]+)*/g) ?? []).map((run) =>
    run.replace(/\s+/g, ''),
  )
  const inBase64 = runs.some((run) =>
    [run, run.slice(1), run.slice(2), run.slice(3)].some((aligned) =>
      Buffer.from(aligned, aligned.includes('-') || aligned.includes('_') ? 'base64url' : 'base64')
        .toString('latin1')
        .includes(secret),
    ),
  )
  return plain.includes(secret.toLowerCase()) || inBase64
}

describe('redactProviderError', () => {
  it.each(ECHOES)('cuts the link, its token and the address echoed %s', (_name, echo) => {
    const echoed = echo(message)
    expect(reveals(echoed, TOKEN)).toBe(true)
    const safe = redactProviderError(echoed, SECRETS, 10_000)
    expect(safe).toContain('[redacted]')
    for (const secret of [TOKEN, ADDRESS]) expect(reveals(safe, secret)).toBe(false)
  })

  it.each(ECHOES)('cuts a PIN echoed %s', (_name, echo) => {
    const safe = redactProviderError(
      echo(`Your payroll code is ${PIN}. Never share it.`),
      [PIN, ADDRESS],
      10_000,
    )
    expect(reveals(safe, PIN)).toBe(false)
  })

  it('keeps what the operator needs, decoded, without control characters, within the cap', () => {
    const safe = redactProviderError(
      `550 5.1.1 mailbox%20full%00 for ${ADDRESS}\u0007 ${'😀'.repeat(200)}`,
      SECRETS,
    )
    expect(safe.startsWith('550 5.1.1 mailbox full  for [redacted]  😀')).toBe(true)
    expect(safe).toMatch(/^[^\p{Cc}]*$/u)
    expect(safe.length).toBeLessThanOrEqual(300)
    expect(safe.at(-1)).not.toMatch(/[\uD800-\uDBFF]/)
  })

  it('cuts any link path it finds, even of another message', () => {
    expect(redactProviderError(`seen /v1/links/${'B'.repeat(32)} before`, [PIN])).toBe(
      'seen /v1/links/[redacted] before',
    )
  })
})

describe('a provider that echoes the URL-encoded link in its error', () => {
  let f: EngineFixture | undefined
  afterEach(async () => {
    await f?.close()
  })

  it('leaves no token in the audit, the delivery row or the log', async () => {
    f = await engineFixture({
      notifier: {
        send: async (m) => {
          throw new DeliveryError('permanent', `Twilio 21610: Body=${encodeURIComponent(m.text)}`)
        },
      },
    })
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await f.acme.start({ system: 'payroll', authid: 'alice' })
    const [row] = f.rows('challenges')
    expect(row).toBeDefined()
    const failures = (await f.acme.audit.list({ type: 'delivery', outcome: 'abandoned' })).events
    // The email is refused, then the SMS it falls back to.
    expect(failures).toHaveLength(2)
    const kept = [
      ...failures.map((event) => String(event.details?.error)),
      ...f.rows('deliveries').map((delivery) => String(delivery.lastError)),
      ...f.logs,
    ].join('\n')
    expect(kept).toContain('Twilio 21610')
    expect(kept).toContain('[redacted]')
    expect(kept).not.toMatch(/links(\/|%2F)[A-Za-z0-9_-]{32}/i)
    expect(kept).not.toMatch(/[A-Za-z0-9_-]{32}/)
    expect(kept).not.toContain('alice%40example.com')
    expect(kept).not.toContain('%2B14155552671')
  })
})
