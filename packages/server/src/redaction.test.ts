import { describe, expect, it } from 'vitest'
import { redactUrl } from './redaction.js'

describe('redactUrl', () => {
  it.each([
    ['postgres://app:hunter2@db:5432/auth', 'postgres://app:***@db:5432/auth'],
    ['mysql://root:p%40ss@127.0.0.1/x', 'mysql://root:***@127.0.0.1/x'],
    ['smtp://mailer:secret@mail.example.com:587', 'smtp://mailer:***@mail.example.com:587'],
    ['cannot reach postgres://a:b@h/d (ECONNREFUSED)', 'cannot reach postgres://a:***@h/d (ECONNREFUSED)'],
    ['postgres://app@db/auth', 'postgres://app@db/auth'],
    ['/var/lib/flexsecure/flexsecure.db', '/var/lib/flexsecure/flexsecure.db'],
  ])('%s → %s', (given, printed) => {
    expect(redactUrl(given)).toBe(printed)
  })
})
