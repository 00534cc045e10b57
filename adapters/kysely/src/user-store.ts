import type { UserStore } from '@flexsecure/core'
import { sql } from 'kysely'
import { failureStreakQueries } from './failure-streak-queries.js'
import { param, prepare } from './prepared-query.js'
import { ASSIGNMENT_COLUMNS, toAssignment, toUser, USER_COLUMNS } from './row-mapping.js'
import { DEFERRED } from './sql-executor.js'
import { columnParams, Rollback, type StoreContext } from './store-context.js'

// An account's users, their assignments to systems, their failure streaks and locks, in SQL.

export function userStore(ctx: StoreContext): UserStore {
  const { db, exec, dialect, guard, answering, one } = ctx
  const insert = prepare(db.insertInto('fs_users').values(columnParams(USER_COLUMNS)))
  const update = prepare<Record<string, unknown>>(
    db
      .updateTable('fs_users')
      .set({
        display_name: param('display_name'),
        email: param('email'),
        phone: param('phone'),
        locale: param('locale'),
        attributes: param('attributes'),
        // A lock that lands between an admin's read and this write stays: only unlockUser lifts it.
        status: sql`CASE WHEN ${sql.ref('status')} = 'locked' THEN 'locked' ELSE ${param('status')} END`,
        updated_at: param('updated_at'),
      })
      .where('id', '=', param('id')),
  )
  const get = prepare<{ account_id: string; authid: string }>(
    db
      .selectFrom('fs_users')
      .select(USER_COLUMNS)
      .where('account_id', '=', param('account_id'))
      .where('authid', '=', param('authid')),
  )
  const list = prepare<{ account_id: string; after: string; limit: number }>(
    db
      .selectFrom('fs_users')
      .select(USER_COLUMNS)
      .where('account_id', '=', param('account_id'))
      .where('authid', '>', param('after'))
      .orderBy('authid')
      .limit(param('limit')),
  )
  const failures = failureStreakQueries(ctx)
  const unlockLocked = prepare<{ id: string; at: number }>(
    db
      .updateTable('fs_users')
      .set({ status: 'active', failure_streak: 0, retry_after: null, updated_at: param('at') })
      .where('id', '=', param('id'))
      .where('status', '=', 'locked'),
  )
  const clearFailures = prepare<{ id: string; at: number }>(
    db
      .updateTable('fs_users')
      .set({ failure_streak: 0, retry_after: null, updated_at: param('at') })
      .where('id', '=', param('id')),
  )
  const remove = prepare<{ id: string }>(db.deleteFrom('fs_users').where('id', '=', param('id')))
  const setMemorizedPin = prepare<{ id: string; hash: string | null; at: number }>(
    db
      .updateTable('fs_users')
      .set({ memorized_pin_hash: param('hash'), updated_at: param('at') })
      .where('id', '=', param('id')),
  )
  const upsertAssignment = dialect.upsert(
    db.insertInto('fs_assignments').values({
      user_id: param('user_id'),
      system_id: param('system_id'),
      method: param('method'),
      channel: param('channel'),
      challenge_id: null,
      previous_challenge_id: null,
    }),
    ['user_id', 'system_id'],
    { method: param('method'), channel: param('channel') },
  )
  const listAssignments = prepare<{ user_id: string }>(
    db.selectFrom('fs_assignments').select(ASSIGNMENT_COLUMNS).where('user_id', '=', param('user_id')),
  )

  return {
    insertUser: (row, audit) =>
      guard(
        'insertUser',
        () =>
          exec.transaction(async (tx) => {
            await tx.run(
              insert.sql,
              insert.bind({
                id: row.id,
                account_id: row.accountId,
                authid: row.authid,
                display_name: row.displayName,
                email: row.email,
                phone: row.phone,
                locale: row.locale,
                attributes: JSON.stringify(row.attributes),
                memorized_pin_hash: row.memorizedPinHash,
                status: row.status,
                failure_streak: row.failureStreak,
                retry_after: row.retryAfter,
                created_at: row.createdAt,
                updated_at: row.updatedAt,
              }),
            )
            await ctx.appendAudit(tx, audit)
          }),
        'authid',
      ),
    updateUser: (row, audit) =>
      guard('updateUser', () =>
        exec.transaction(async (tx) => {
          await tx.run(
            update.sql,
            update.bind({
              id: row.id,
              display_name: row.displayName,
              email: row.email,
              phone: row.phone,
              locale: row.locale,
              attributes: JSON.stringify(row.attributes),
              status: row.status,
              updated_at: row.updatedAt,
            }),
          )
          await ctx.appendAudit(tx, audit)
        }),
      ),
    getUser: (accountId, authid) =>
      guard('getUser', () => one(get.sql, get.bind({ account_id: accountId, authid }), toUser)),
    listUsers: (accountId, { afterAuthid = '', limit }) =>
      guard('listUsers', async () =>
        (await exec.all(list.sql, list.bind({ account_id: accountId, after: afterAuthid, limit }))).map(
          toUser,
        ),
      ),
    recordFailure: (userId, at, decide, audit, lockAudit) =>
      guard('recordFailure', () =>
        exec.transaction(
          (tx) => failures.count(tx, { userId, at, decide, lockAudit }, audit),
          // Deferred (docs/decisions.md): a failure counted precedes no message.
          DEFERRED,
        ),
      ),
    unlockUser: (userId, at, audit) =>
      guard('unlockUser', () =>
        exec.transaction(async (tx) => {
          // One conditional write answers "was it locked", whatever else runs at the same time.
          const wasLocked = (await tx.run(unlockLocked.sql, unlockLocked.bind({ id: userId, at }))) === 1
          if (!wasLocked) await tx.run(clearFailures.sql, clearFailures.bind({ id: userId, at }))
          await ctx.appendAudit(tx, audit)
          return wasLocked
        }),
      ),
    removeUser: (userId, audit) =>
      guard('removeUser', () =>
        answering(async (tx) => {
          if ((await tx.run(remove.sql, remove.bind({ id: userId }))) !== 1) throw new Rollback(false)
          await ctx.appendAudit(tx, audit)
          return true
        }),
      ),
    setMemorizedPin: (userId, hash, at, audit) =>
      guard('setMemorizedPin', () =>
        exec.transaction(async (tx) => {
          await tx.run(setMemorizedPin.sql, setMemorizedPin.bind({ id: userId, hash, at }))
          await ctx.appendAudit(tx, audit)
        }),
      ),
    saveAssignments: (userId, rows, audit) =>
      guard('saveAssignments', () =>
        exec.transaction(async (tx) => {
          for (const row of rows)
            await tx.run(
              upsertAssignment.sql,
              upsertAssignment.bind({
                user_id: userId,
                system_id: row.systemId,
                method: row.method,
                channel: row.channel,
              }),
            )
          await ctx.appendAudit(tx, audit)
        }),
      ),
    listAssignments: (userId) =>
      guard('listAssignments', async () =>
        (await exec.all(listAssignments.sql, listAssignments.bind({ user_id: userId }))).map(toAssignment),
      ),
  }
}
