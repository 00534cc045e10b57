import { ConflictError, type SystemRow, type SystemStore } from '@flexsecure/core'
import { sql } from 'kysely'
import { param, prepare } from './prepared-query.js'
import { SYSTEM_COLUMNS, toSystem } from './row-mapping.js'
import { columnParams, type StoreContext } from './store-context.js'

// An account's systems in SQL. The login reads a system's rules apart, by version (login-store.ts).

/** A system's values as the insert's and the update's named parameters. */
const systemValues = (row: SystemRow) => ({
  policies: JSON.stringify(row.policies),
  return_url: row.returnUrl,
  messages: row.messages === null ? null : JSON.stringify(row.messages),
  sensitivity: row.sensitivity,
  rules: JSON.stringify(row.rules),
  rules_version: row.rules.version,
  updated_at: row.updatedAt,
})

export function systemStore(ctx: StoreContext): SystemStore {
  const { db, exec, guard, one } = ctx
  const insert = prepare(db.insertInto('fs_systems').values(columnParams(SYSTEM_COLUMNS)))
  const update = prepare<
    ReturnType<typeof systemValues> & { id: string; expected_updated_at: number | null }
  >(
    db
      .updateTable('fs_systems')
      .set({
        policies: param('policies'),
        return_url: param('return_url'),
        messages: param('messages'),
        sensitivity: param('sensitivity'),
        rules: param('rules'),
        rules_version: param('rules_version'),
        updated_at: param('updated_at'),
      })
      .where('id', '=', param('id'))
      // With no expected time given, COALESCE makes this true; PostgreSQL types the parameter from the column.
      .where(
        sql<boolean>`COALESCE(${param('expected_updated_at')}, ${sql.ref('updated_at')}) = ${sql.ref('updated_at')}`,
      ),
  )
  const get = prepare<{ account_id: string; name: string }>(
    db
      .selectFrom('fs_systems')
      .select(SYSTEM_COLUMNS)
      .where('account_id', '=', param('account_id'))
      .where('name', '=', param('name')),
  )
  const list = prepare<{ account_id: string }>(
    db
      .selectFrom('fs_systems')
      .select(SYSTEM_COLUMNS)
      .where('account_id', '=', param('account_id'))
      .orderBy('name'),
  )

  return {
    insertSystem: (row, audit) =>
      guard(
        'insertSystem',
        () =>
          exec.transaction(async (tx) => {
            await tx.run(
              insert.sql,
              insert.bind({
                id: row.id,
                account_id: row.accountId,
                name: row.name,
                created_at: row.createdAt,
                ...systemValues(row),
              }),
            )
            await ctx.appendAudit(tx, audit)
          }),
        'name',
      ),
    updateSystem: (row, audit, expectedUpdatedAt) =>
      guard('updateSystem', () =>
        exec.transaction(async (tx) => {
          const changed = await tx.run(
            update.sql,
            update.bind({ id: row.id, ...systemValues(row), expected_updated_at: expectedUpdatedAt ?? null }),
          )
          if (changed !== 1)
            throw new ConflictError(
              'system',
              'was changed by someone else meanwhile; read it again and retry',
            )
          await ctx.appendAudit(tx, audit)
        }),
      ),
    getSystem: (accountId, name) =>
      guard('getSystem', () => one(get.sql, get.bind({ account_id: accountId, name }), toSystem)),
    listSystems: (accountId) =>
      guard('listSystems', async () =>
        (await exec.all(list.sql, list.bind({ account_id: accountId }))).map(toSystem),
      ),
  }
}
