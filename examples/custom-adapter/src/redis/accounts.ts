import {
  type AccountRow,
  type AccountStore,
  type ApiKeyRow,
  type ApiKeyStore,
  StorageError,
} from '@flexsecure/core'
import { appendAudit, openAuditChain, type SealerSlot } from './audit.js'
import type { RedisKeys } from './keys.js'
import { accountOut } from './rows.js'
import type { Runner } from './transaction.js'

// Accounts and their API keys in Redis.

/** The account store. */
export function redisAccounts(run: Runner, keys: RedisKeys, slot: SealerSlot): AccountStore {
  return {
    insertAccount: (row) =>
      run.transact('insertAccount', async (tx) => {
        if (await tx.row(keys.account(row.id))) throw new StorageError(`account ${row.id} exists`)
        const { id, name, settings, createdAt } = row
        tx.put(keys.account(id), { id, name, settings, createdAt })
        tx.write((m) => m.zadd(keys.accounts, 0, id))
        openAuditChain(tx, keys, slot, id)
      }),

    getAccount: (id) =>
      run.read('getAccount', async (redis) => {
        const text = await redis.get(keys.account(id))
        return text === null ? null : accountOut(JSON.parse(text))
      }),

    listAccounts: () =>
      run.read('listAccounts', async (redis) => {
        // Scores are all 0, so the set is in lexicographic order: by id.
        const ids = await redis.zrange(keys.accounts, 0, -1)
        if (ids.length === 0) return []
        const texts = await redis.mget(...ids.map((id) => keys.account(id)))
        return texts.flatMap((text) => (text === null ? [] : [accountOut(JSON.parse(text))]))
      }),

    updateAccountSettings: (id, change, audit) =>
      run.transact('updateAccountSettings', async (tx) => {
        // Read under WATCH: a concurrent update makes this one run again on its result, so each
        // change builds on the last (the SQL storages take the row's lock for the same reason).
        const row = await tx.row<AccountRow>(keys.account(id))
        if (!row) return null
        const next = change(accountOut(row).settings)
        tx.put(keys.account(id), { ...row, settings: next })
        await appendAudit(tx, keys, slot, audit(next))
        return next
      }),
  }
}

/** The API key store: a row per key, a key from its SHA-256 to its id, an ordered list per account. */
export function redisApiKeys(run: Runner, keys: RedisKeys, slot: SealerSlot): ApiKeyStore {
  const byId = (id: string) => keys.apiKey(id)
  return {
    insertApiKey: (row, audit) =>
      run.transact('insertApiKey', async (tx) => {
        const [taken, account] = await tx.rows([byId(row.id), keys.account(row.accountId)])
        const sha = keys.apiKeyBySha256(row.sha256)
        if (taken || (await tx.watched(sha, (redis) => redis.exists(sha))))
          throw new StorageError(`API key ${row.id} exists`)
        if (!account) throw new StorageError(`API key ${row.id}: unknown account ${row.accountId}`)
        tx.put(byId(row.id), row)
        tx.write((m) => m.set(sha, row.id).zadd(keys.accountApiKeys(row.accountId), row.createdAt, row.id))
        await appendAudit(tx, keys, slot, audit)
      }),

    listApiKeys: (accountId) =>
      run.read('listApiKeys', async (redis) => {
        // By creation time, then id (members of equal score sort lexicographically).
        const ids = await redis.zrange(keys.accountApiKeys(accountId), 0, -1)
        if (ids.length === 0) return []
        const texts = await redis.mget(...ids.map(byId))
        return texts.flatMap((text) => (text === null ? [] : [JSON.parse(text) as ApiKeyRow]))
      }),

    getApiKeyBySha256: (sha256) =>
      run.read('getApiKeyBySha256', async (redis) => {
        const id = await redis.get(keys.apiKeyBySha256(sha256))
        const text = id === null ? null : await redis.get(byId(id))
        return text === null ? null : (JSON.parse(text) as ApiKeyRow)
      }),

    revokeApiKey: (accountId, id, at, audit) =>
      run.transact('revokeApiKey', async (tx) => {
        const row = await tx.row<ApiKeyRow>(byId(id))
        if (!row || row.accountId !== accountId || row.revokedAt !== null) return false
        tx.put(byId(id), { ...row, revokedAt: at })
        await appendAudit(tx, keys, slot, audit)
        return true
      }),

    touchApiKey: (id, at, minIntervalMs) =>
      run.transact('touchApiKey', async (tx) => {
        const row = await tx.row<ApiKeyRow>(byId(id))
        if (row && (row.lastUsedAt === null || row.lastUsedAt <= at - minIntervalMs))
          tx.put(byId(id), { ...row, lastUsedAt: at })
      }),
  }
}
