import { describe, expect, it } from 'vitest'
import { ValidationError } from '../domain/errors.js'
import { resolveSettings } from './account-settings.js'

describe('resolveSettings refuses keys that are not settings', () => {
  it.each([
    [{ sendLimit: { perUserPerHour: 3 } }, 'settings.sendLimit', 'uniformResponses, sendLimits'],
    [
      { sendLimits: { perUserPerHr: 3 } },
      'settings.sendLimits.perUserPerHr',
      'perUserPerHour, perDestinationPerHour',
    ],
    [
      { lockout: { lockAt: 3 } },
      'settings.lockout.lockAt',
      'freeFailures, baseDelaySeconds, maxDelaySeconds, lockAfter',
    ],
  ])('%j: names the field and lists the valid ones', (input, field, listed) => {
    let thrown: unknown
    try {
      resolveSettings(input)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ValidationError)
    expect(thrown).toMatchObject({ field })
    expect((thrown as Error).message).toContain(listed)
  })
})
