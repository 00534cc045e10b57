import { beforeAll, describe, expect, it } from 'vitest'
import { sha256Hex } from './domain/secrets.js'
import { createEngine } from './engine.js'
import { TEST_SECRET } from './testing/engine-fixture.js'
import { captureNotifier, cheapHasher, manualClock, memoryStorage } from './testing/index.js'

// docs/security.md S8 and S26: start 100 challenges of each method and create 3 keys, then look for every
// PIN, link token and key, in plain, hex and base64, in everything the engine handed its storage.
// Ten-digit PINs make a chance match in unrelated text negligible. What SQLite writes to its files is
// checked by adapters/sqlite/src/secrets-at-rest.test.ts.

describe('secrets at rest', () => {
  const storage = memoryStorage()
  const secrets: string[] = []

  beforeAll(async () => {
    const notifier = captureNotifier()
    const engine = createEngine({
      storage,
      notifier,
      secret: TEST_SECRET,
      links: { baseUrl: 'https://auth.example.com' },
      clock: manualClock(),
      hasher: cheapHasher(),
      // 200 starts at one instant: far past a key's burst (S31), which is not what this test is about.
      throttle: false,
    })
    await engine.migrate()
    const acme = engine.account((await engine.accounts.create({ name: 'Acme' })).id)
    await acme.systems.create({
      name: 'app',
      policies: { passwordless: { enabled: true }, pin: { enabled: true, pinLength: 10 } },
    })
    for (let i = 0; i < 200; i++) {
      const authid = `user${i}`
      await acme.users.create({ authid, email: `${authid}@example.com` })
      await acme.users.assign(authid, [{ system: 'app', method: i % 2 ? 'pin' : 'passwordless' }])
      expect((await acme.start({ system: 'app', authid })).result).toBe('success')
      const message = notifier.last()
      secrets.push((message.pin ?? message.token) as string)
    }
    for (const name of ['a', 'b', 'c'])
      secrets.push((await acme.apiKeys.create({ name, scopes: ['auth'] })).key)
  })

  const forms = (secret: string) => [
    secret,
    Buffer.from(secret).toString('hex'),
    Buffer.from(secret).toString('base64').replace(/=+$/, ''),
    Buffer.from(secret).toString('base64url'),
  ]

  it('issued 100 PINs, 100 links and 3 keys to look for', () => {
    expect(secrets.filter((s) => /^\d{10}$/.test(s))).toHaveLength(100)
    expect(secrets.filter((s) => /^[\w-]{32}$/.test(s))).toHaveLength(100)
    expect(secrets.filter((s) => s.startsWith('fsk_'))).toHaveLength(3)
  })

  it('finds none of them in any field of any stored row', () => {
    const tables = storage.inspect()
    expect(tables.challenges).toHaveLength(200)
    expect(tables.deliveries).toHaveLength(200)
    expect(tables.apiKeys).toHaveLength(3)
    // Every value, separated so no match can span two of them.
    const values: string[] = []
    const collect = (value: unknown): void => {
      if (value === null || value === undefined) return
      if (typeof value === 'object') for (const inner of Object.values(value)) collect(inner)
      else values.push(String(value))
    }
    collect(tables)
    const everything = values.join('\u0000')
    const found = secrets.flatMap(forms).filter((form) => everything.includes(form))
    expect(found).toEqual([])
    // The control: what is meant to be stored, each link token's SHA-256, is found by the same scan.
    const tokens = secrets.filter((s) => /^[\w-]{32}$/.test(s))
    expect(tokens.filter((token) => everything.includes(sha256Hex(token)))).toHaveLength(100)
  })
})
