import { describe, expect, it } from 'vitest'
import { COMMON_PINS, weakPinReason } from './memorized-pin.js'

describe('weakPinReason (S10)', () => {
  const refused: [string, string][] = [
    ['12345', 'must be 6 to 12 digits'],
    ['1234567890123', 'must be 6 to 12 digits'],
    ['12a456', 'must be 6 to 12 digits'],
    ['123456', 'is one of the most common PINs'],
    ['520131', 'is one of the most common PINs'],
    ['999999', 'is one of the most common PINs'],
    ['4444444', 'repeats a digit or a group of digits'],
    ['383838', 'repeats a digit or a group of digits'],
    ['472472', 'repeats a digit or a group of digits'],
    ['345678', 'is a run of consecutive digits'],
    ['890123', 'is a run of consecutive digits'],
    ['876543210', 'is a run of consecutive digits'],
    ['311299', 'looks like a date'],
    ['123199', 'looks like a date'],
    ['991231', 'looks like a date'],
    ['07041976', 'looks like a date'],
    ['12251999', 'looks like a date'],
    ['20240229', 'looks like a date'],
    ['369258', 'is a line or shape on the keypad'],
    ['789456123', 'is a line or shape on the keypad'],
    ['951357', 'is a line or shape on the keypad'],
  ]
  for (const [pin, reason] of refused)
    it(`refuses ${pin}: ${reason}`, () => expect(weakPinReason(pin)).toBe(reason))

  const accepted = ['582914', '604817', '730592', '3816094', '20230230', '99133171']
  for (const pin of accepted) it(`accepts ${pin}`, () => expect(weakPinReason(pin)).toBeNull())

  it('holds only 6- to 10-digit entries in its common list', () => {
    for (const pin of COMMON_PINS) expect(pin).toMatch(/^\d{6,10}$/)
  })
})
