import { expect, it } from 'vitest'
import { apiKeyDigest, newApiKey } from '../domain/api-keys.js'
import { newId } from '../domain/secrets.js'
import type { ApiKeyRow } from '../ports/storage.js'
import { draft, freshStorage, type StoreSuite, T0 } from './storage-fixture.js'

/** The ApiKeyStore contract: an account's keys, found by their SHA-256. Seeds the account. */
export function apiKeyCases(suite: StoreSuite): void {
  suite.describeStore('apiKeys', () => {
    const f = freshStorage(suite.options, 'account')

    it('stores a key by its SHA-256, finds it, and revokes it once', async () => {
      const key = newApiKey()
      const row = {
        id: newId(),
        accountId: f.accountId,
        name: 'web',
        ...apiKeyDigest(key),
        scopes: ['admin', 'auth'] as const,
        createdAt: T0,
        lastUsedAt: null,
        expiresAt: T0 + 1000,
        revokedAt: null,
      }
      await f.storage.apiKeys.insertApiKey(row, [])
      expect(await f.storage.apiKeys.getApiKeyBySha256(row.sha256)).toEqual(row)
      expect(await f.storage.apiKeys.listApiKeys(f.accountId)).toEqual([row])
      expect(await f.storage.apiKeys.revokeApiKey('other-account', row.id, T0 + 5, [])).toBe(false)
      expect(
        await f.storage.apiKeys.revokeApiKey(f.accountId, row.id, T0 + 5, [
          draft(f.accountId, 'apikey.revoked'),
        ]),
      ).toBe(true)
      expect(await f.storage.apiKeys.revokeApiKey(f.accountId, row.id, T0 + 9, [])).toBe(false)
      expect((await f.storage.apiKeys.getApiKeyBySha256(row.sha256))?.revokedAt).toBe(T0 + 5)
      await expect(f.storage.apiKeys.insertApiKey({ ...row, id: newId() }, [])).rejects.toThrow()
    })

    it('records a key’s use at most once per interval', async () => {
      const row = {
        id: newId(),
        accountId: f.accountId,
        name: 'web',
        ...apiKeyDigest(newApiKey()),
        scopes: ['auth'] as const,
        createdAt: T0,
        lastUsedAt: null,
        expiresAt: null,
        revokedAt: null,
      }
      await f.storage.apiKeys.insertApiKey(row, [])
      for (const at of [T0 + 10, T0 + 20_000, T0 + 59_999, T0 + 60_010, T0 + 60_020])
        await f.storage.apiKeys.touchApiKey(row.id, at, 60_000)
      expect((await f.storage.apiKeys.getApiKeyBySha256(row.sha256))?.lastUsedAt).toBe(T0 + 60_010)
    })

    it('stamps a revocation with the time it is given, with no audit event to take one from', async () => {
      const row: ApiKeyRow = {
        id: newId(),
        accountId: f.accountId,
        name: 'cli',
        ...apiKeyDigest(newApiKey()),
        scopes: ['admin'],
        createdAt: T0,
        lastUsedAt: null,
        expiresAt: null,
        revokedAt: null,
      }
      await f.storage.apiKeys.insertApiKey(row, [])
      expect(await f.storage.apiKeys.revokeApiKey(f.accountId, row.id, T0 + 7_000, [])).toBe(true)
      expect((await f.storage.apiKeys.getApiKeyBySha256(row.sha256))?.revokedAt).toBe(T0 + 7_000)
      expect(await f.storage.apiKeys.listApiKeys(f.accountId)).toEqual([{ ...row, revokedAt: T0 + 7_000 }])
    })
  })
}
