import { describe, expect, it } from 'vitest'
import { composeMessage, LOCALES, type MessageInput, resolveMessageSettings } from './messages.js'

// GSM 03.38's basic character set (an SMS of at most 160 of these is one segment); the extension
// table's characters (^{}\[]~|€) count twice and are left out here on purpose.
const GSM7 =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà'
const isGsm7 = (text: string) => [...text].every((c) => GSM7.includes(c))

const pin = (fields: Partial<MessageInput> = {}): MessageInput => ({
  method: 'pin',
  channel: 'sms',
  to: '+14155552671',
  appName: 'Acme Payroll',
  challengeId: 'ch_1',
  lifetimeMinutes: 5,
  secret: '01234567',
  ...fields,
})
const link = (fields: Partial<MessageInput> = {}): MessageInput => ({
  ...pin({ method: 'passwordless', channel: 'email', to: 'alice@example.com' }),
  secret: 'https://auth.example.com/v1/links/AbCdEfGhIjKlMnOpQrStUvWxYz012345',
  ...fields,
})

describe('SMS', () => {
  const longestApp = 'A'.repeat(30)
  for (const locale of Object.keys(LOCALES)) {
    it(`keeps a ${locale} PIN under 160 GSM-7 characters with the PIN first, the app name and a WebOTP line`, () => {
      const message = composeMessage(
        pin({ locale, appName: longestApp, secret: '0123456789', webOtpDomain: 'auth.example-company.com' }),
      )
      expect(message.text.startsWith('0123456789')).toBe(true)
      expect(message.text).toContain(longestApp)
      expect(message.text.endsWith('\n\n@auth.example-company.com #0123456789')).toBe(true)
      expect(isGsm7(message.text)).toBe(true)
      expect(message.text.length).toBeLessThanOrEqual(160)
    })

    it(`keeps a ${locale} link SMS under 160 GSM-7 characters`, () => {
      const message = composeMessage(
        link({ locale, channel: 'sms', to: '+14155552671', appName: longestApp }),
      )
      expect(isGsm7(message.text)).toBe(true)
      expect(message.text.length).toBeLessThanOrEqual(160)
    })
  }

  it('adds no WebOTP line without a domain, nor to a link', () => {
    expect(composeMessage(pin()).text).not.toContain('@')
    expect(composeMessage(link({ channel: 'sms', webOtpDomain: 'example.com' })).text).not.toContain('#')
  })
})

describe('email', () => {
  it('never puts the code in the subject, and puts it in both the text and the HTML', () => {
    const message = composeMessage(pin({ channel: 'email', to: 'alice@example.com' }))
    expect(message.subject).toBe('Your Acme Payroll sign-in code')
    expect(message.subject).not.toContain('01234567')
    expect(message.text).toContain('Your Acme Payroll code is 01234567')
    expect(message.html).toContain('<strong style="font-size:24px;letter-spacing:4px">01234567</strong>')
  })

  it('gives the link a button and escapes what it shows', () => {
    const message = composeMessage(link({ appName: 'Tom & Jerry <Pay>', displayName: 'Ann "A"' }))
    expect(message.html).toContain(
      'href="https://auth.example.com/v1/links/AbCdEfGhIjKlMnOpQrStUvWxYz012345"',
    )
    expect(message.html).toContain('Sign in to Tom &#38; Jerry &#60;Pay&#62;</a>')
    expect(message.html).not.toContain('<Pay>')
    expect(message.text).toMatch(/^Hello Ann "A",/)
  })

  it('greets without a stray space when the user has no display name', () => {
    expect(composeMessage(link()).text).toMatch(/^Hello,\n/)
    expect(composeMessage(link({ locale: 'de' })).text).toMatch(/^Hallo,\n/)
  })
})

describe('locales and overrides', () => {
  it('speaks German to de and de-AT, and English to a language it does not ship', () => {
    expect(composeMessage(pin({ locale: 'de-AT' }))).toMatchObject({
      locale: 'de',
      text: '01234567 ist Ihr Code für Acme Payroll. Geben Sie ihn nie weiter.',
    })
    expect(composeMessage(link({ locale: 'de' })).text).toContain('innerhalb von 5 Minuten')
    expect(composeMessage(pin({ locale: 'fi' })).locale).toBe('en')
  })

  it('takes the most specific override first, per template and locale', () => {
    const system = { templates: { de: { smsPin: '{pin}: {app} (System)' } } }
    const account = {
      templates: {
        de: { smsPin: '{pin}: {app} (Konto)', emailPinSubject: 'Code für {app}' },
        fi: { smsPin: '{pin} on {app}-koodisi' },
      },
    }
    const overrides = [system, account]
    expect(composeMessage(pin({ locale: 'de', overrides })).text).toBe('01234567: Acme Payroll (System)')
    expect(composeMessage(pin({ locale: 'de', channel: 'email', overrides })).subject).toBe(
      'Code für Acme Payroll',
    )
    // A locale FlexSecure does not ship, given by the account.
    expect(composeMessage(pin({ locale: 'fi', overrides }))).toMatchObject({
      locale: 'fi',
      text: '01234567 on Acme Payroll-koodisi',
    })
    expect(composeMessage(pin({ locale: 'en', overrides })).text).toBe(
      '01234567 is your Acme Payroll code. Never share it.',
    )
  })

  it('fills a template it has seen before with each message its own values', () => {
    // Templates are split at their placeholders once and kept: nothing of one message may stay in them.
    const overrides = [{ templates: { en: { smsPin: '{pin}{pin} for {name} at {app}, {lifetime}{link}' } } }]
    expect(composeMessage(pin({ overrides, displayName: 'Ann' })).text).toBe(
      '0123456701234567 for Ann at Acme Payroll, 5 minutes',
    )
    expect(
      composeMessage(pin({ overrides, secret: '99', appName: 'Beta', lifetimeMinutes: 1, displayName: null }))
        .text,
    ).toBe('9999 for  at Beta, 1 minute')
    expect(composeMessage(pin({ overrides: [{ templates: { en: { smsPin: '{pin}' } } }] })).text).toBe(
      '01234567',
    )
  })

  it('passes the sender name on', () => {
    expect(composeMessage(pin({ channel: 'email', senderName: 'Acme Security' })).fromName).toBe(
      'Acme Security',
    )
  })
})

describe('resolveMessageSettings', () => {
  it('accepts a full set and refuses what would break a message', () => {
    const good = {
      appName: 'Acme',
      senderName: 'Acme Security',
      webOtpDomain: 'auth.acme.example',
      templates: { de: { smsPin: '{pin} für {app}' }, 'pt-BR': { emailPinSubject: 'Seu código' } },
    }
    expect(resolveMessageSettings(good, 'messages')).toEqual(good)
    for (const [input, field] of [
      [{ templates: { de: { smsPin: 'no code here' } } }, 'messages.templates.de.smsPin'],
      [{ templates: { de: { emailPinSubject: 'Code {pin}' } } }, 'messages.templates.de.emailPinSubject'],
      [{ templates: { de: { smsLink: 'go {app}' } } }, 'messages.templates.de.smsLink'],
      [{ templates: { de: { unknown: '{pin}' } } }, 'messages.templates.de.unknown'],
      [{ templates: { 'not a locale': {} } }, 'messages.templates'],
      [{ senderName: 'Evil\r\nBcc: x@y' }, 'messages.senderName'],
      [{ webOtpDomain: 'https://example.com' }, 'messages.webOtpDomain'],
      [{ colour: 'blue' }, 'messages.colour'],
    ] as const)
      expect(() => resolveMessageSettings(input, 'messages'), field).toThrow(
        expect.objectContaining({ field }),
      )
  })
})
