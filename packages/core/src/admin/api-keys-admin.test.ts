import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { isWellFormedApiKey } from '../domain/api-keys.js'
import { sha256Hex } from '../domain/secrets.js'
import { createEngine } from '../engine.js'
import { type EngineFixture, engineFixture, TEST_SECRET } from '../testing/engine-fixture.js'
import { KEY_CACHE_MS } from './api-keys-admin.js'

let f: EngineFixture
beforeEach(async () => {
  f = await engineFixture()
})
afterEach(async () => {
  await f.close()
})

describe('apiKeys', () => {
  it('creates a key shown once, with the fsk_ prefix, at least 128 random bits and a checksum', async () => {
    const created = await f.acme.apiKeys.create({ name: 'web', scopes: ['auth'] })
    expect(created.key).toMatch(/^fsk_[0-9A-Za-z]{38}$/)
    expect(isWellFormedApiKey(created.key)).toBe(true)
    // 32 base62 characters carry 190 bits; the last 6 are the checksum.
    const typo = `${created.key.slice(0, 10)}${created.key[10] === 'a' ? 'b' : 'a'}${created.key.slice(11)}`
    expect(isWellFormedApiKey(typo)).toBe(false)
    expect(created.prefix).toBe(created.key.slice(0, 10))
    const stored = JSON.stringify(f.rows('apiKeys'))
    expect(stored).not.toContain(created.key)
    expect(stored).toContain(sha256Hex(created.key))
  })

  it('lists keys without the key or its hash', async () => {
    await f.acme.apiKeys.create({ name: 'web', scopes: ['auth'] })
    f.clock.advance(1000)
    const expiresAt = new Date(f.clock.now() + 86_400_000)
    await f.acme.apiKeys.create({ name: 'ops', scopes: ['admin', 'auth'], expiresAt })
    const listed = await f.acme.apiKeys.list()
    expect(listed.map((k) => [k.name, k.scopes, k.expiresAt])).toEqual([
      ['web', ['auth'], null],
      ['ops', ['admin', 'auth'], expiresAt],
    ])
    expect(Object.keys(listed[0] ?? {}).sort()).toEqual(
      ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'scopes'].sort(),
    )
  })

  it('authenticates a key to its account, scopes and id', async () => {
    const created = await f.acme.apiKeys.create({ name: 'ops', scopes: ['admin', 'auth'] })
    expect(await f.engine.accounts.authenticateKey(created.key)).toEqual({
      account: await f.engine.accounts.get(f.acme.id),
      scopes: ['admin', 'auth'],
      keyId: created.id,
      lastUsedAt: null,
    })
    expect(await f.engine.accounts.authenticateKey('fsk_nope')).toBeNull()
    expect(
      await f.engine.accounts.authenticateKey(
        created.key.replace(/.$/, (last) => (last === '0' ? '1' : '0')),
      ),
    ).toBeNull()
  })

  it('stops a revoked key at once, and revokes only once', async () => {
    const created = await f.acme.apiKeys.create({ name: 'web', scopes: ['auth'] })
    // Just used, so this engine holds it in memory: revoking here must drop it there too.
    expect(await f.engine.accounts.authenticateKey(created.key)).not.toBeNull()
    expect(await f.acme.apiKeys.revoke(created.id)).toBe(true)
    expect(await f.engine.accounts.authenticateKey(created.key)).toBeNull()
    expect(await f.acme.apiKeys.revoke(created.id)).toBe(false)
  })

  it('looks a verified key up once per KEY_CACHE_MS, not on every request', async () => {
    const created = await f.acme.apiKeys.create({ name: 'web', scopes: ['auth'] })
    const lookups = vi.spyOn(f.storage.apiKeys, 'getApiKeyBySha256')
    for (let i = 0; i < 5; i++) {
      expect((await f.engine.accounts.authenticateKey(created.key))?.keyId).toBe(created.id)
      f.clock.advance((KEY_CACHE_MS - 1) / 5)
    }
    expect(lookups).toHaveBeenCalledTimes(1)
    f.clock.advance(1)
    expect((await f.engine.accounts.authenticateKey(created.key))?.keyId).toBe(created.id)
    expect(lookups).toHaveBeenCalledTimes(2)
    // A key that was refused is never kept: each try is looked up again.
    // (One character changed, to one it is not: replacing it with a fixed '0' kept the key 1 time in 62.)
    const altered = `fsk_${created.key[4] === '0' ? '1' : '0'}${created.key.slice(5)}`
    expect(await f.engine.accounts.authenticateKey(altered)).toBeNull()
  })

  it('refuses a key revoked by another engine on the same database once KEY_CACHE_MS has passed', async () => {
    const created = await f.acme.apiKeys.create({ name: 'web', scopes: ['auth'] })
    // A second instance: its own engine and storage on the same database, the same clock.
    const other = createEngine({
      storage: f.sharedStorage(),
      notifier: f.notifier,
      clock: f.clock,
      secret: TEST_SECRET,
      links: { baseUrl: 'https://auth.example.com' },
    })
    expect(await other.accounts.authenticateKey(created.key)).not.toBeNull()
    expect(await f.acme.apiKeys.revoke(created.id)).toBe(true)
    f.clock.advance(KEY_CACHE_MS)
    expect(await other.accounts.authenticateKey(created.key)).toBeNull()
    await other.close()
  })

  it('refuses a cached key once it expires, even inside KEY_CACHE_MS', async () => {
    const created = await f.acme.apiKeys.create({
      name: 'temp',
      scopes: ['auth'],
      expiresAt: new Date(f.clock.now() + 60_000),
    })
    f.clock.advance(60_000 - KEY_CACHE_MS / 2)
    expect(await f.engine.accounts.authenticateKey(created.key)).not.toBeNull()
    f.clock.advance(KEY_CACHE_MS / 2)
    expect(await f.engine.accounts.authenticateKey(created.key)).toBeNull()
  })

  it('cannot revoke another account’s key', async () => {
    const other = f.engine.account((await f.engine.accounts.create({ name: 'Other' })).id)
    const theirs = await other.apiKeys.create({ name: 'web', scopes: ['auth'] })
    expect(await f.acme.apiKeys.revoke(theirs.id)).toBe(false)
    expect(await f.engine.accounts.authenticateKey(theirs.key)).not.toBeNull()
  })

  it('refuses an expired key', async () => {
    const created = await f.acme.apiKeys.create({
      name: 'temp',
      scopes: ['auth'],
      expiresAt: new Date(f.clock.now() + 60_000),
    })
    f.clock.advance(59_999)
    expect(await f.engine.accounts.authenticateKey(created.key)).not.toBeNull()
    f.clock.advance(1)
    expect(await f.engine.accounts.authenticateKey(created.key)).toBeNull()
  })

  it('writes lastUsedAt at most once a minute', async () => {
    const created = await f.acme.apiKeys.create({ name: 'web', scopes: ['auth'] })
    const t0 = f.clock.now()
    for (const step of [0, 10_000, 49_999, 1, 30_000]) {
      f.clock.advance(step)
      await f.engine.accounts.authenticateKey(created.key)
    }
    // Uses at t0, +10 s, +59.999 s, +60 s, +90 s: written at t0 and at +60 s only.
    expect((await f.acme.apiKeys.list())[0]?.lastUsedAt).toEqual(new Date(t0 + 60_000))
  })

  it.each([
    [{ name: '', scopes: ['auth'] }, 'name'],
    [{ name: 'x', scopes: [] }, 'scopes'],
    [{ name: 'x', scopes: ['root'] }, 'scopes'],
    [{ name: 'x', scopes: ['auth'], expiresAt: new Date(0) }, 'expiresAt'],
  ])('refuses %j, naming %s', async (input, field) => {
    await expect(f.acme.apiKeys.create(input as never)).rejects.toMatchObject({ field })
  })

  it('says a date that is not one is not a date, and a past one is past', async () => {
    const create = (expiresAt: Date) => f.acme.apiKeys.create({ name: 'x', scopes: ['auth'], expiresAt })
    await expect(create(new Date('99999-01-01T00:00:00Z'))).rejects.toThrow('expiresAt: is not a date')
    await expect(create(new Date(0))).rejects.toThrow('expiresAt: must be a date in the future')
  })

  it('audits creation and revocation with the key id, never the key', async () => {
    const created = await f.acme.apiKeys.create({ name: 'web', scopes: ['auth'] })
    await f.acme.apiKeys.revoke(created.id)
    const { events } = await f.acme.audit.list({ type: 'apikey.revoked' })
    expect(events).toHaveLength(1)
    expect(events[0]?.details).toEqual({ keyId: created.id })
    expect(JSON.stringify(f.rows('auditEvents'))).not.toContain(created.key)
  })
})
