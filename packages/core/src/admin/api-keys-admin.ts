import { apiKeyDigest, isWellFormedApiKey, newApiKey, SCOPES, type Scope } from '../domain/api-keys.js'
import { ValidationError } from '../domain/errors.js'
import { refuseControlCharacters } from '../domain/login-input.js'
import type { Account } from '../domain/model.js'
import { newId } from '../domain/secrets.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { ApiKeyRow, AuditDraft } from '../ports/storage.js'

/** A key as listed: never the key itself, nor its hash. */
export interface ApiKeyInfo {
  readonly id: string
  readonly name: string
  /** Enough of the key to tell keys apart (`fsk_3fQ9aZ`). */
  readonly prefix: string
  readonly scopes: readonly Scope[]
  readonly createdAt: Date
  readonly lastUsedAt: Date | null
  readonly expiresAt: Date | null
  readonly revokedAt: Date | null
}

/** Manages an account's API keys (S22–S23). */
export interface ApiKeysAdmin {
  /** Creates a key and returns it, the only time it is ever shown. */
  create(input: {
    readonly name: string
    readonly scopes: readonly Scope[]
    readonly expiresAt?: Date | null
  }): Promise<ApiKeyInfo & { readonly key: string }>
  list(): Promise<ApiKeyInfo[]>
  /** Revokes at once. Returns false when the key is unknown or already revoked. */
  revoke(id: string): Promise<boolean>
}

/** Who an API key speaks for, as `engine.accounts.authenticateKey` answers. */
export interface KeyIdentity {
  readonly account: Account
  readonly scopes: readonly Scope[]
  readonly keyId: string
  /** When the key's use was last recorded (at most once a minute), or null. */
  readonly lastUsedAt: Date | null
}

/** `lastUsedAt` is written at most once a minute per key, not on every call. */
const LAST_USED_RESOLUTION_MS = 60_000

/**
 * How long a verified key is answered from memory (a poll comes every second or so, and must not cost a key lookup each time). A key
 * revoked or expired elsewhere is refused by every instance within this; by the revoking instance at once.
 */
export const KEY_CACHE_MS = 500

const info = (row: ApiKeyRow): ApiKeyInfo => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  scopes: row.scopes,
  createdAt: new Date(row.createdAt),
  lastUsedAt: row.lastUsedAt === null ? null : new Date(row.lastUsedAt),
  expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt),
  revokedAt: row.revokedAt === null ? null : new Date(row.revokedAt),
})

export function apiKeysAdmin(
  ctx: EngineContext,
  accountId: string,
  ready: () => Promise<void>,
  audit: (type: string, fields: Partial<AuditDraft>) => AuditDraft,
): ApiKeysAdmin {
  const { storage, clock } = ctx
  return {
    async create(input) {
      if (typeof input !== 'object' || input === null)
        throw new ValidationError('apiKey', 'must be an object')
      const name =
        typeof input.name === 'string'
          ? refuseControlCharacters(input.name, 'name').normalize('NFKC').trim()
          : ''
      if (name.length === 0 || name.length > 200)
        throw new ValidationError('name', 'must be 1 to 200 characters')
      if (
        !Array.isArray(input.scopes) ||
        input.scopes.length === 0 ||
        input.scopes.some((s) => !SCOPES.includes(s))
      )
        throw new ValidationError('scopes', `must list one or more of ${SCOPES.join(', ')}`)
      const now = clock.now()
      const expiresAt = input.expiresAt ?? null
      if (expiresAt !== null && (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())))
        throw new ValidationError('expiresAt', 'is not a date (a year has four digits)')
      if (expiresAt !== null && expiresAt.getTime() <= now)
        throw new ValidationError('expiresAt', 'must be a date in the future')
      await ready()
      const key = newApiKey()
      const row: ApiKeyRow = {
        id: newId(),
        accountId,
        name,
        ...apiKeyDigest(key),
        scopes: [...new Set(input.scopes)].sort(),
        createdAt: now,
        lastUsedAt: null,
        expiresAt: expiresAt?.getTime() ?? null,
        revokedAt: null,
      }
      await storage.apiKeys.insertApiKey(row, [
        audit('apikey.created', { details: { keyId: row.id, name, prefix: row.prefix, scopes: row.scopes } }),
      ])
      return { ...info(row), key }
    },
    async list() {
      return (await storage.apiKeys.listApiKeys(accountId)).map(info)
    },
    async revoke(id) {
      if (typeof id !== 'string' || id.length === 0 || id.length > 64)
        throw new ValidationError('id', 'must be a key id')
      refuseControlCharacters(id, 'id')
      const revoked = await storage.apiKeys.revokeApiKey(accountId, id, clock.now(), [
        audit('apikey.revoked', { details: { keyId: id } }),
      ])
      keyCache(ctx).forget(id)
      return revoked
    },
  }
}

/**
 * Resolves a presented key to its account and scopes, or null. With `recordUse` (the default) it
 * records the use, at most once a minute; a caller that may still refuse the request passes false
 * and calls `recordKeyUse` once it has accepted it, so a refused request changes nothing.
 */
export async function authenticateKey(
  ctx: EngineContext,
  key: unknown,
  { recordUse = true }: { readonly recordUse?: boolean } = {},
): Promise<KeyIdentity | null> {
  if (typeof key !== 'string') return null
  const now = ctx.clock.now()
  const cache = keyCache(ctx)
  let identity = cache.get(key, now)
  if (!identity) {
    if (!isWellFormedApiKey(key)) return null
    const row = await ctx.storage.apiKeys.getApiKeyBySha256(apiKeyDigest(key).sha256)
    if (!row || row.revokedAt !== null || (row.expiresAt !== null && now >= row.expiresAt)) return null
    const account = await accountOf(ctx, row.accountId)
    if (!account) return null
    identity = {
      account,
      scopes: row.scopes,
      keyId: row.id,
      lastUsedAt: row.lastUsedAt === null ? null : new Date(row.lastUsedAt),
    }
    cache.set(key, identity, row.expiresAt, now)
  }
  if (recordUse) await recordKeyUse(ctx, identity)
  return identity
}

/**
 * Verified keys for `KEY_CACHE_MS`, by the key as presented (its checksum and digest were checked when it
 * was stored here). Only keys that were accepted are kept: an unknown key is looked up every time.
 */
interface KeyCache {
  get(key: string, now: number): KeyIdentity | null
  set(key: string, identity: KeyIdentity, expiresAt: number | null, now: number): void
  /** A key revoked here is refused at once. */
  forget(keyId: string): void
  /** Its use was just recorded: later requests in the window need not write it again. */
  used(keyId: string, at: Date): void
}

const keyCaches = new WeakMap<EngineContext, KeyCache>()
function keyCache(ctx: EngineContext): KeyCache {
  const known = keyCaches.get(ctx)
  if (known) return known
  const entries = new Map<string, { identity: KeyIdentity; from: number; until: number }>()
  const cache: KeyCache = {
    get(key, now) {
      const entry = entries.get(key)
      if (!entry) return null
      if (entry.from <= now && now < entry.until) return entry.identity
      entries.delete(key)
      return null
    },
    set(key, identity, expiresAt, now) {
      if (entries.size >= 10_000) entries.clear()
      // Never past the key's own expiry; a clock that goes back ends the entry too.
      const until = Math.min(now + KEY_CACHE_MS, expiresAt ?? Number.POSITIVE_INFINITY)
      entries.set(key, { identity, from: now, until })
    },
    forget(keyId) {
      for (const [key, entry] of entries) if (entry.identity.keyId === keyId) entries.delete(key)
    },
    used(keyId, at) {
      for (const entry of entries.values())
        if (entry.identity.keyId === keyId) entry.identity = { ...entry.identity, lastUsedAt: at }
    },
  }
  keyCaches.set(ctx, cache)
  return cache
}

/**
 * What a key's identity says of its account never changes (accounts are neither renamed nor removed),
 * so it is read once per engine. The key itself is read again after `KEY_CACHE_MS`.
 */
const accounts = new WeakMap<EngineContext, Map<string, Account>>()
async function accountOf(ctx: EngineContext, id: string): Promise<Account | null> {
  let cache = accounts.get(ctx)
  if (!cache) {
    cache = new Map()
    accounts.set(ctx, cache)
  }
  const known = cache.get(id)
  if (known) return known
  const row = await ctx.storage.accounts.getAccount(id)
  if (!row) return null
  const account = { id: row.id, name: row.name, createdAt: new Date(row.createdAt) }
  if (cache.size >= 10_000) cache.clear()
  cache.set(id, account)
  return account
}

/** Records a key's use unless it was recorded within the last minute (one conditional write). */
export async function recordKeyUse(ctx: EngineContext, identity: KeyIdentity): Promise<void> {
  const now = ctx.clock.now()
  const last = identity.lastUsedAt?.getTime() ?? null
  if (last === null || now - last >= LAST_USED_RESOLUTION_MS) {
    await ctx.storage.apiKeys.touchApiKey(identity.keyId, now, LAST_USED_RESOLUTION_MS)
    keyCache(ctx).used(identity.keyId, new Date(now))
  }
}
