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
