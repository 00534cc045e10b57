import { describe, expect, it } from 'vitest'
import { DEFAULT_SETTINGS, delayAfter, resolveSettings } from './account-settings.js'

describe('delayAfter', () => {
  const lockout = DEFAULT_SETTINGS.lockout
  it.each([
    [1, null],
    [4, null],
    [5, 30],
    [6, 60],
    [7, 120],
    [11, 1920],
    [12, 3600],
    [99, 3600],
  ])('after %i consecutive failures waits %s seconds', (streak, seconds) => {
    const { retryAfter, lock } = delayAfter(streak, lockout, 0)
    expect([retryAfter === null ? null : retryAfter / 1000, lock]).toEqual([seconds, false])
  })

  it('locks at 100 consecutive failures', () => {
    expect(delayAfter(100, lockout, 0)).toEqual({ retryAfter: null, lock: true })
  })
})

describe('resolveSettings', () => {
  it('merges over the defaults', () => {
    const settings = resolveSettings({ sendLimits: { perUserPerHour: 3 }, uniformResponses: true })
    expect(settings.sendLimits).toEqual({ ...DEFAULT_SETTINGS.sendLimits, perUserPerHour: 3 })
    expect(settings.uniformResponses).toBe(true)
  })

  it.each([
    [{ lockout: { lockAfter: 101 } }, 'settings.lockout.lockAfter'],
    [{ sendLimits: { perUserPerHour: 0 } }, 'settings.sendLimits.perUserPerHour'],
    [{ uniformResponses: 'yes' }, 'settings.uniformResponses'],
    [{ lockout: { baseDelaySeconds: 60, maxDelaySeconds: 30 } }, 'settings.lockout.maxDelaySeconds'],
    [{ auditRetentionDays: 0 }, 'settings.auditRetentionDays'],
  ])('refuses %j, naming %s', (input, field) => {
    expect(() => resolveSettings(input)).toThrow(expect.objectContaining({ field }))
  })
})
