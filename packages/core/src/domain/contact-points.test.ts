import { describe, expect, it } from 'vitest'
import { maskDestination, normalizeEmail, normalizePhone } from './contact-points.js'
import { ValidationError } from './errors.js'

describe('normalizeEmail', () => {
  it.each([
    ['  Alice@Example.COM ', 'Alice@example.com'],
    ['j.doe+tag@mail.example.co.uk', 'j.doe+tag@mail.example.co.uk'],
    ['ａｌｉｃｅ@example.com', 'alice@example.com'],
    ['josé@exämple.de', 'josé@exämple.de'],
  ])('normalizes %j to %j', (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected)
  })

  it.each([
    'alice',
    'alice@',
    '@example.com',
    'alice@localhost',
    'Alice <alice@example.com>',
    'alice@example.com, bob@example.com',
    'a b@example.com',
    '"quoted"@example.com',
    'alice..dots@example.com',
    'alice@-example.com',
    'alice@example.c0m',
    `${'a'.repeat(65)}@example.com`,
  ])('refuses %j, naming the field', (input) => {
    expect(() => normalizeEmail(input)).toThrow(ValidationError)
    expect(() => normalizeEmail(input)).toThrow(/^email: /)
  })
})

describe('normalizePhone', () => {
  it.each([
    ['+1 415 555 2671', '+14155552671'],
    ['+44 7911 123456', '+447911123456'],
    ['+33 6 12 34 56 78', '+33612345678'],
  ])('stores %j as E.164 %j', (input, expected) => {
    expect(normalizePhone(input)).toBe(expected)
  })

  it.each(['4155552671', '+1 555 123 4567', '+999 123', 'call me', '+44 7911'])('refuses %j', (input) => {
    expect(() => normalizePhone(input)).toThrow(ValidationError)
  })
})

describe('maskDestination', () => {
  it('masks addresses and numbers the way docs/security.md S26 shows', () => {
    expect(maskDestination('john@example.com')).toBe('j***@example.com')
    expect(maskDestination('+15551234567')).toBe('+1******4567')
  })
})
