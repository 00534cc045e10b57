import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'

// S30 for in-process callers, who do not pass through the HTTP schemas: NUL broke PostgreSQL's text
// columns (a 500 over HTTP), and a display name with CR/LF wrote lines of its own into the email.

let f: EngineFixture
const login = { system: 'payroll', authid: 'alice' }
beforeEach(async () => {
  f = await engineFixture()
})
afterEach(async () => {
  await f.close()
})

describe('control characters in free text (S30)', () => {
  it('refuses a display name with CR/LF, NUL or C1 on create and update', async () => {
    for (const displayName of ['Alice\r\nBcc: x@evil.example', 'A\u0000', 'A\u0085', 'A\u007f']) {
      await expect(f.acme.users.create({ authid: 'bob', displayName })).rejects.toMatchObject({
        field: 'displayName',
        message: expect.stringContaining('control characters'),
      })
      await expect(f.acme.users.update('alice', { displayName })).rejects.toMatchObject({
        field: 'displayName',
      })
    }
    expect(await f.acme.users.create({ authid: 'bob', displayName: 'Bob Ó’Brien 😀' })).toMatchObject({
      displayName: 'Bob Ó’Brien 😀',
    })
  })

  it('never lets a stored display name break lines in a message', async () => {
    await f.acme.users.update('alice', { displayName: 'Alice' })
    // A name written before these checks existed, straight into the table.
    f.tamper('users', (user) => ({ ...user, displayName: 'Alice\r\nReply to evil@example.com' }))
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin', channel: 'email' }])
    await f.acme.start(login)
    const { text } = f.notifier.last()
    expect(text.split('\n')[0]).toBe('Hello Alice  Reply to evil@example.com,')
  })

  it.each([
    ['a context value', { ...login, context: { ip: '203.0.113.7\u0000' } }, 'context.ip'],
    ['a context key', { ...login, context: { 'a\u0000': 'x' } }, 'context'],
    ['a user agent with a line break', { ...login, context: { userAgent: 'x\ny' } }, 'context.userAgent'],
  ])('refuses %s on start and check', async (_name, input, field) => {
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
    await expect(f.acme.start(input)).rejects.toMatchObject({ field })
    await expect(f.acme.check(input)).rejects.toMatchObject({ field })
    expect(f.notifier.messages).toHaveLength(0)
  })

  it('refuses control characters in attributes, key names, key ids and audit filters', async () => {
    await expect(f.acme.users.update('alice', { attributes: { dept: 'a\u0000' } })).rejects.toMatchObject({
      field: 'attributes.dept',
    })
    await expect(f.acme.apiKeys.create({ name: 'ci\u0000', scopes: ['auth'] })).rejects.toMatchObject({
      field: 'name',
    })
    await expect(f.acme.apiKeys.revoke('\u0000')).rejects.toMatchObject({ field: 'id' })
    for (const filter of ['system', 'authid', 'type', 'outcome'] as const)
      await expect(f.acme.audit.list({ [filter]: 'x\u0000' })).rejects.toMatchObject({ field: filter })
  })

  it('lets message body templates break lines, and nothing else', async () => {
    const messages = (templates: Record<string, string>) => ({ messages: { templates: { en: templates } } })
    await f.acme.settings.update(messages({ smsPin: 'Code:\r\n{pin}' }))
    for (const [name, template] of [
      ['smsPin', '{pin}\u0000'],
      ['emailPinSubject', 'Your code\nBcc: x@evil.example'],
      ['emailLinkButton', 'Sign\nin'],
    ] as const)
      await expect(f.acme.settings.update(messages({ [name]: template }))).rejects.toMatchObject({
        field: `settings.messages.templates.en.${name}`,
      })
    await expect(f.acme.settings.update({ messages: { senderName: 'Acme\u0000' } })).rejects.toMatchObject({
      field: 'settings.messages.senderName',
    })
  })
})
