import type { AccountStore, ApiKeyStore } from '@flexsecure/core'
import { param, prepare } from './prepared-query.js'
import { ACCOUNT_COLUMNS, API_KEY_COLUMNS, toAccount, toApiKey } from './row-mapping.js'
import { columnParams, Rollback, type StoreContext } from './store-context.js'

// Accounts and their API keys in SQL.

export function accountStore(ctx: StoreContext): AccountStore {
  const { db, exec, dialect, guard, one } = ctx
  const insert = prepare(db.insertInto('fs_accounts').values(columnParams(ACCOUNT_COLUMNS)))
  const get = prepare<{ id: string }>(
    db.selectFrom('fs_accounts').select(ACCOUNT_COLUMNS).where('id', '=', param('id')),
  )
  const list = prepare<Record<string, never>>(
    db.selectFrom('fs_accounts').select(ACCOUNT_COLUMNS).orderBy('id'),
  )
  // Write-locks an account's row and reads it: settings updates serialize.
  const lock = dialect.lockRow<{ id: string }, Record<string, unknown>, 'fs_accounts'>({
    table: 'fs_accounts',
    key: 'id',
    columns: ACCOUNT_COLUMNS,
    touch: 'settings',
  })
  const setSettings = prepare<{ id: string; settings: string }>(
    db
      .updateTable('fs_accounts')
      .set({ settings: param('settings') })
      .where('id', '=', param('id')),
  )

  return {
    insertAccount: (row) =>
      guard('insertAccount', () =>
        exec.transaction(async (tx) => {
          await tx.run(
            insert.sql,
            insert.bind({
              id: row.id,
              name: row.name,
              settings: JSON.stringify(row.settings),
              created_at: row.createdAt,
            }),
          )
          await ctx.openAuditChain(tx, row.id)
        }),
      ),
    getAccount: (id) => guard('getAccount', () => one(get.sql, get.bind({ id }), toAccount)),
    listAccounts: () =>
      guard('listAccounts', async () => (await exec.all(list.sql, list.bind({}))).map(toAccount)),
    updateAccountSettings: (id, change, audit) =>
      guard('updateAccountSettings', () =>
        exec.transaction(async (tx) => {
          const [row] = await lock.run(tx, { id })
          if (!row) return null
          const next = change(toAccount(row).settings)
          await tx.run(setSettings.sql, setSettings.bind({ id, settings: JSON.stringify(next) }))
          await ctx.appendAudit(tx, audit(next))
          return next
        }),
      ),
  }
}

export function apiKeyStore(ctx: StoreContext): ApiKeyStore {
  const { db, exec, guard, answering, one } = ctx
  const insert = prepare(db.insertInto('fs_api_keys').values(columnParams(API_KEY_COLUMNS)))
  const list = prepare<{ account_id: string }>(
    db
      .selectFrom('fs_api_keys')
      .select(API_KEY_COLUMNS)
      .where('account_id', '=', param('account_id'))
      .orderBy('created_at')
      .orderBy('id'),
  )
  const bySha256 = prepare<{ sha256: string }>(
    db.selectFrom('fs_api_keys').select(API_KEY_COLUMNS).where('sha256', '=', param('sha256')),
  )
  const revoke = prepare<{ account_id: string; id: string; at: number }>(
    db
      .updateTable('fs_api_keys')
      .set({ revoked_at: param('at') })
      .where('id', '=', param('id'))
      .where('account_id', '=', param('account_id'))
      .where('revoked_at', 'is', null),
  )
  const touch = prepare<{ id: string; at: number; stale_before: number }>(
    db
      .updateTable('fs_api_keys')
      .set({ last_used_at: param('at') })
      .where('id', '=', param('id'))
      .where((eb) =>
        eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', param('stale_before'))]),
      ),
  )

  return {
    insertApiKey: (row, audit) =>
      guard('insertApiKey', () =>
        exec.transaction(async (tx) => {
          await tx.run(
            insert.sql,
            insert.bind({
              id: row.id,
              account_id: row.accountId,
              name: row.name,
              prefix: row.prefix,
              sha256: row.sha256,
              scopes: row.scopes.join(' '),
              created_at: row.createdAt,
              last_used_at: row.lastUsedAt,
              expires_at: row.expiresAt,
              revoked_at: row.revokedAt,
            }),
          )
          await ctx.appendAudit(tx, audit)
        }),
      ),
    listApiKeys: (accountId) =>
      guard('listApiKeys', async () =>
        (await exec.all(list.sql, list.bind({ account_id: accountId }))).map(toApiKey),
      ),
    getApiKeyBySha256: (sha256) =>
      guard('getApiKeyBySha256', () => one(bySha256.sql, bySha256.bind({ sha256 }), toApiKey)),
    revokeApiKey: (accountId, id, at, audit) =>
      guard('revokeApiKey', () =>
        answering(async (tx) => {
          const revoked = await tx.run(revoke.sql, revoke.bind({ account_id: accountId, id, at }))
          if (revoked !== 1) throw new Rollback(false)
          await ctx.appendAudit(tx, audit)
          return true
        }),
      ),
    touchApiKey: (id, at, minIntervalMs) =>
      guard('touchApiKey', async () => {
        await exec.run(touch.sql, touch.bind({ id, at, stale_before: at - minIntervalMs }))
      }),
  }
}
