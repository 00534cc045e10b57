import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.js'

// A configured secret, so loading writes no secret file next to the database.
const base = { FLEXSECURE_DB: '/tmp/flexsecure-config-test/db.sqlite', FLEXSECURE_SECRET: 'x'.repeat(32) }

describe('loadConfig: FLEXSECURE_TRUST_PROXY', () => {
  it('is off unless set, and reads true/false and 1/0', () => {
    expect(loadConfig(base).trustProxy).toBe(false)
    expect(loadConfig({ ...base, FLEXSECURE_TRUST_PROXY: 'true' }).trustProxy).toBe(true)
    expect(loadConfig({ ...base, FLEXSECURE_TRUST_PROXY: '1' }).trustProxy).toBe(true)
    expect(loadConfig({ ...base, FLEXSECURE_TRUST_PROXY: 'FALSE' }).trustProxy).toBe(false)
  })

  it('refuses anything else, naming the variable', () => {
    expect(() => loadConfig({ ...base, FLEXSECURE_TRUST_PROXY: 'yes' })).toThrow(ConfigError)
    expect(() => loadConfig({ ...base, FLEXSECURE_TRUST_PROXY: 'yes' })).toThrow(/FLEXSECURE_TRUST_PROXY/)
  })
})

describe('loadConfig: FLEXSECURE_THROTTLE (S19, S31)', () => {
  it('is the engine’s defaults unless set; reads an object or false', () => {
    expect(loadConfig(base).throttle).toBeNull()
    expect(loadConfig({ ...base, FLEXSECURE_THROTTLE: 'false' }).throttle).toBe(false)
    expect(loadConfig({ ...base, FLEXSECURE_THROTTLE: '{"polls":{"burst":20}}' }).throttle).toEqual({
      polls: { burst: 20 },
    })
  })

  it('refuses what the engine would refuse, naming the variable and the field', () => {
    expect(() => loadConfig({ ...base, FLEXSECURE_THROTTLE: '{"polls":{"burst":0}}' })).toThrow(
      /FLEXSECURE_THROTTLE: throttle.polls.burst/,
    )
    expect(() => loadConfig({ ...base, FLEXSECURE_THROTTLE: '[1]' })).toThrow(/FLEXSECURE_THROTTLE/)
  })
})

describe('loadConfig: retention and retry window (issue 12 items 6 and 7)', () => {
  it('keeps ended challenges 30 days and spreads retries over 80 % unless set', () => {
    expect(loadConfig(base)).toMatchObject({ challengeRetentionDays: 30, deliveryRetryWindowPercent: 80 })
    expect(
      loadConfig({
        ...base,
        FLEXSECURE_CHALLENGE_RETENTION_DAYS: '7',
        FLEXSECURE_DELIVERY_RETRY_WINDOW_PERCENT: '0',
      }),
    ).toMatchObject({ challengeRetentionDays: 7, deliveryRetryWindowPercent: 0 })
  })

  it.each([
    ['FLEXSECURE_CHALLENGE_RETENTION_DAYS', '0'],
    ['FLEXSECURE_DELIVERY_RETRY_WINDOW_PERCENT', '101'],
  ])('refuses %s=%s, naming the variable', (variable, value) => {
    expect(() => loadConfig({ ...base, [variable]: value })).toThrow(new RegExp(variable))
  })
})
