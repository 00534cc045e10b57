import { type AuditDraft, ConflictError, type Storage, StorageError, ValidationError } from '@flexsecure/core'
import { type Kysely, Migrator, sql } from 'kysely'
import { migrations } from './migrations.js'
import { param, prepare } from './prepared-query.js'
import {
  ASSIGNMENT_COLUMNS,
  AUDIT_COLUMNS,
  CHALLENGE_COLUMNS,
  challengeParams,
  prefixed,
  SYSTEM_COLUMNS,
  toAccount,
  toAssignment,
  toAuditEvent,
  toChallenge,
  toSystem,
  toUser,
  USER_COLUMNS,
  unprefix,
} from './row-mapping.js'
import type { Database } from './schema.js'
import { kyselyExecutor, type SqlExecutor } from './sql-executor.js'

export interface KyselyStorageOptions {
  /** A Kysely instance on the database; used to build queries once and to run migrations. */
  readonly db: Kysely<Database>
  /** How statements run; defaults to Kysely's own driver. The SQLite adapter passes a faster one. */
  readonly executor?: SqlExecutor
  /** Called by `close()`, e.g. to close the driver's connection. */
  readonly onClose?: () => Promise<void>
}

/** Signals a transaction that must roll back without it being an error. */
class Rollback extends Error {}

/** Unique-constraint violations, however the dialect spells them. The one dialect-specific check. */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  return (
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === '23505' ||
    code === 'ER_DUP_ENTRY'
  )
}

const LIVE = ['pending', 'confirmed'] as const

/**
 * The Storage port over any Kysely dialect. Every query is compiled once here; each challenge move is
 * one conditional UPDATE, and audit rows join the transaction of the change they record.
 *
 * ```ts
 * const storage = kyselyStorage({ db: new Kysely<Database>({ dialect }) })
 * ```
 */
export function kyselyStorage(options: KyselyStorageOptions): Storage {
  const { db } = options
  const exec = options.executor ?? kyselyExecutor(db as Kysely<unknown>)
  // biome-ignore lint/suspicious/noExplicitAny: prefixed column lists are checked at run time by the tests
  const cols = (list: readonly string[]) => list as any

  const q = {
    insertAccount: prepare<{ id: string; name: string; created_at: number }>(
      db
        .insertInto('fs_accounts')
        .values({ id: param('id'), name: param('name'), created_at: param('created_at') }),
    ),
    insertAuditHead: prepare<{ account_id: string }>(
      db.insertInto('fs_audit_heads').values({ account_id: param('account_id'), seq: 0 }),
    ),
    getAccount: prepare<{ id: string }>(
      db.selectFrom('fs_accounts').selectAll().where('id', '=', param('id')),
    ),

    insertSystem: prepare<Record<string, unknown>>(
      db
        .insertInto('fs_systems')
        .values(Object.fromEntries(SYSTEM_COLUMNS.map((c) => [c, param(c)])) as never),
    ),
    updateSystem: prepare<{ id: string; policies: string; updated_at: number }>(
      db
        .updateTable('fs_systems')
        .set({ policies: param('policies'), updated_at: param('updated_at') })
        .where('id', '=', param('id')),
    ),
    getSystem: prepare<{ account_id: string; name: string }>(
      db
        .selectFrom('fs_systems')
        .select(cols(SYSTEM_COLUMNS))
        .where('account_id', '=', param('account_id'))
        .where('name', '=', param('name')),
    ),
    listSystems: prepare<{ account_id: string }>(
      db
        .selectFrom('fs_systems')
        .select(cols(SYSTEM_COLUMNS))
        .where('account_id', '=', param('account_id'))
        .orderBy('name'),
    ),

    insertUser: prepare<Record<string, unknown>>(
      db.insertInto('fs_users').values(Object.fromEntries(USER_COLUMNS.map((c) => [c, param(c)])) as never),
    ),
    updateUser: prepare<Record<string, unknown>>(
      db
        .updateTable('fs_users')
        .set({
          display_name: param('display_name'),
          email: param('email'),
          phone: param('phone'),
          status: param('status'),
          updated_at: param('updated_at'),
        })
        .where('id', '=', param('id')),
    ),
    getUser: prepare<{ account_id: string; authid: string }>(
      db
        .selectFrom('fs_users')
        .select(cols(USER_COLUMNS))
        .where('account_id', '=', param('account_id'))
        .where('authid', '=', param('authid')),
    ),
    listUsers: prepare<{ account_id: string; after: string; limit: number }>(
      db
        .selectFrom('fs_users')
        .select(cols(USER_COLUMNS))
        .where('account_id', '=', param('account_id'))
        .where('authid', '>', param('after'))
        .orderBy('authid')
        .limit(param('limit')),
    ),

    upsertAssignment: prepare<{ user_id: string; system_id: string; method: string; channel: string | null }>(
      db
        .insertInto('fs_assignments')
        .values({
          user_id: param('user_id'),
          system_id: param('system_id'),
          method: param('method'),
          channel: param('channel'),
          challenge_id: null,
        })
        .onConflict((oc) =>
          oc
            .columns(['user_id', 'system_id'])
            .doUpdateSet({ method: param('method'), channel: param('channel') }),
        ),
    ),
    listAssignments: prepare<{ user_id: string }>(
      db
        .selectFrom('fs_assignments')
        .select(cols(ASSIGNMENT_COLUMNS))
        .where('user_id', '=', param('user_id')),
    ),

    resolveLogin: prepare<{ account_id: string; system: string; authid: string }>(
      db
        .selectFrom('fs_systems as s')
        .leftJoin('fs_users as u', (join) =>
          join.onRef('u.account_id', '=', 's.account_id').on('u.authid', '=', param('authid')),
        )
        .leftJoin('fs_assignments as a', (join) =>
          join.onRef('a.user_id', '=', 'u.id').onRef('a.system_id', '=', 's.id'),
        )
        .leftJoin('fs_challenges as c', 'c.id', 'a.challenge_id')
        .select(
          cols([
            ...prefixed('s', SYSTEM_COLUMNS),
            ...prefixed('u', USER_COLUMNS),
            ...prefixed('a', ASSIGNMENT_COLUMNS),
            ...prefixed('c', CHALLENGE_COLUMNS),
          ]),
        )
        .where('s.account_id', '=', param('account_id'))
        .where('s.name', '=', param('system')),
    ),

    supersede: prepare<{ user_id: string; system_id: string; at: number }>(
      db
        .updateTable('fs_challenges')
        .set({ status: 'superseded', completed_at: param('at') })
        .where('user_id', '=', param('user_id'))
        .where('system_id', '=', param('system_id'))
        .where('status', 'in', LIVE),
    ),
    insertChallenge: prepare<ReturnType<typeof challengeParams>>(
      db
        .insertInto('fs_challenges')
        .values(Object.fromEntries(CHALLENGE_COLUMNS.map((c) => [c, param(c)])) as never),
    ),
    pointAssignment: prepare<{ user_id: string; system_id: string; challenge_id: string }>(
      db
        .updateTable('fs_assignments')
        .set({ challenge_id: param('challenge_id') })
        .where('user_id', '=', param('user_id'))
        .where('system_id', '=', param('system_id')),
    ),
    getChallenge: prepare<{ id: string }>(
      db.selectFrom('fs_challenges').select(cols(CHALLENGE_COLUMNS)).where('id', '=', param('id')),
    ),
    getChallengeByLinkHash: prepare<{ link_hash: string }>(
      db
        .selectFrom('fs_challenges')
        .select(cols(CHALLENGE_COLUMNS))
        .where('link_hash', '=', param('link_hash')),
    ),
    confirmLink: prepare<{ link_hash: string; at: number }>(
      db
        .updateTable('fs_challenges')
        .set({ status: 'confirmed' })
        .where('link_hash', '=', param('link_hash'))
        .where('status', '=', 'pending')
        .where('expires_at', '>', param('at'))
        .returning(cols(CHALLENGE_COLUMNS)),
    ),
    reserveAttempt: prepare<{ id: string; at: number }>(
      db
        .updateTable('fs_challenges')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', param('id'))
        .where('status', '=', 'pending')
        .where('expires_at', '>', param('at'))
        .whereRef('attempts', '<', 'max_attempts')
        .returning('attempts'),
    ),
    transition: prepare<{
      id: string
      from1: string
      from2: string
      to: string
      at: number
      reported: number
    }>(
      db
        .updateTable('fs_challenges')
        .set((eb) => ({
          status: param('to'),
          completed_at: eb.fn.coalesce('completed_at', sql<number>`${param('at')}`),
          outcome_reported: param('reported'),
        }))
        .where('id', '=', param('id'))
        .where('status', 'in', [param('from1'), param('from2')])
        .where('outcome_reported', '=', 0),
    ),
    expireDue: prepare<{ at: number; limit: number }>(
      db
        .updateTable('fs_challenges')
        .set({ status: 'expired', completed_at: param('at') })
        .where('id', 'in', (sub) =>
          sub
            .selectFrom('fs_challenges')
            .select('id')
            .where('status', 'in', LIVE)
            .where('expires_at', '<=', param('at'))
            .limit(param('limit')),
        )
        .where('status', 'in', LIVE)
        .returning(cols(CHALLENGE_COLUMNS)),
    ),

    advanceAuditHead: prepare<{ account_id: string; count: number }>(
      db
        .updateTable('fs_audit_heads')
        .set((eb) => ({ seq: eb('seq', '+', param<number>('count')) }))
        .where('account_id', '=', param('account_id'))
        .returning('seq'),
    ),
    insertAudit: prepare<Record<string, unknown>>(
      db
        .insertInto('fs_audit_events')
        .values(Object.fromEntries(AUDIT_COLUMNS.map((c) => [c, param(c)])) as never),
    ),
    listAudit: prepare<{ account_id: string; after: number; limit: number }>(
      db
        .selectFrom('fs_audit_events')
        .select(cols(AUDIT_COLUMNS))
        .where('account_id', '=', param('account_id'))
        .where('seq', '>', param('after'))
        .orderBy('seq')
        .limit(param('limit')),
    ),
  }

  /** Appends drafts to their accounts' trails: one head move per account gives the sequence numbers. */
  async function appendAudit(tx: SqlExecutor, drafts: readonly AuditDraft[]): Promise<void> {
    if (drafts.length === 0) return
    const byAccount = new Map<string, AuditDraft[]>()
    for (const draft of drafts) {
      const list = byAccount.get(draft.accountId)
      if (list) list.push(draft)
      else byAccount.set(draft.accountId, [draft])
    }
    for (const [accountId, list] of byAccount) {
      const [head] = await tx.all<{ seq: number }>(
        q.advanceAuditHead.sql,
        q.advanceAuditHead.bind({ account_id: accountId, count: list.length }),
      )
      if (!head) throw new StorageError(`no audit trail for account ${accountId}`)
      let seq = Number(head.seq) - list.length
      for (const d of list) {
        seq += 1
        await tx.run(
          q.insertAudit.sql,
          q.insertAudit.bind({
            account_id: d.accountId,
            seq,
            at: d.at,
            type: d.type,
            actor: d.actor,
            system: d.system,
            authid: d.authid,
            challenge_id: d.challengeId,
            outcome: d.outcome,
            reason: d.reason,
            ip: d.ip,
            user_agent: d.userAgent,
            details: d.details === null ? null : JSON.stringify(d.details),
          }),
        )
      }
    }
  }

  /** Runs `work` and turns driver failures into StorageError, and unique violations into ConflictError. */
  async function guard<T>(what: string, work: () => Promise<T>, conflictField?: string): Promise<T> {
    try {
      return await work()
    } catch (error) {
      if (error instanceof ValidationError || error instanceof StorageError) throw error
      if (conflictField && isUniqueViolation(error))
        throw new ConflictError(conflictField, 'is already taken')
      throw new StorageError(`${what} failed: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      })
    }
  }

  const one = async <T>(sqlText: string, parameters: unknown[], map: (row: Record<string, unknown>) => T) => {
    const [row] = await exec.all(sqlText, parameters)
    return row ? map(row) : null
  }

  const storage: Storage = {
    async migrate() {
      await guard('migrate', async () => {
        const { error } = await new Migrator({
          db,
          provider: { getMigrations: async () => migrations },
        }).migrateToLatest()
        if (error) throw error
      })
    },
    async close() {
      await options.onClose?.()
    },

    insertAccount: (row) =>
      guard('insertAccount', () =>
        exec.transaction(async (tx) => {
          await tx.run(
            q.insertAccount.sql,
            q.insertAccount.bind({ id: row.id, name: row.name, created_at: row.createdAt }),
          )
          await tx.run(q.insertAuditHead.sql, q.insertAuditHead.bind({ account_id: row.id }))
        }),
      ),
    getAccount: (id) =>
      guard('getAccount', () => one(q.getAccount.sql, q.getAccount.bind({ id }), toAccount)),

    insertSystem: (row, audit) =>
      guard(
        'insertSystem',
        () =>
          exec.transaction(async (tx) => {
            await tx.run(
              q.insertSystem.sql,
              q.insertSystem.bind({
                id: row.id,
                account_id: row.accountId,
                name: row.name,
                policies: JSON.stringify(row.policies),
                created_at: row.createdAt,
                updated_at: row.updatedAt,
              }),
            )
            await appendAudit(tx, audit)
          }),
        'name',
      ),
    updateSystem: (row, audit) =>
      guard('updateSystem', () =>
        exec.transaction(async (tx) => {
          await tx.run(
            q.updateSystem.sql,
            q.updateSystem.bind({
              id: row.id,
              policies: JSON.stringify(row.policies),
              updated_at: row.updatedAt,
            }),
          )
          await appendAudit(tx, audit)
        }),
      ),
    getSystem: (accountId, name) =>
      guard('getSystem', () =>
        one(q.getSystem.sql, q.getSystem.bind({ account_id: accountId, name }), toSystem),
      ),
    listSystems: (accountId) =>
      guard('listSystems', async () =>
        (await exec.all(q.listSystems.sql, q.listSystems.bind({ account_id: accountId }))).map(toSystem),
      ),

    insertUser: (row, audit) =>
      guard(
        'insertUser',
        () =>
          exec.transaction(async (tx) => {
            await tx.run(
              q.insertUser.sql,
              q.insertUser.bind({
                id: row.id,
                account_id: row.accountId,
                authid: row.authid,
                display_name: row.displayName,
                email: row.email,
                phone: row.phone,
                status: row.status,
                created_at: row.createdAt,
                updated_at: row.updatedAt,
              }),
            )
            await appendAudit(tx, audit)
          }),
        'authid',
      ),
    updateUser: (row, audit) =>
      guard('updateUser', () =>
        exec.transaction(async (tx) => {
          await tx.run(
            q.updateUser.sql,
            q.updateUser.bind({
              id: row.id,
              display_name: row.displayName,
              email: row.email,
              phone: row.phone,
              status: row.status,
              updated_at: row.updatedAt,
            }),
          )
          await appendAudit(tx, audit)
        }),
      ),
    getUser: (accountId, authid) =>
      guard('getUser', () => one(q.getUser.sql, q.getUser.bind({ account_id: accountId, authid }), toUser)),
    listUsers: (accountId, { afterAuthid = '', limit }) =>
      guard('listUsers', async () =>
        (
          await exec.all(
            q.listUsers.sql,
            q.listUsers.bind({ account_id: accountId, after: afterAuthid, limit }),
          )
        ).map(toUser),
      ),

    saveAssignments: (_userId, rows, audit) =>
      guard('saveAssignments', () =>
        exec.transaction(async (tx) => {
          for (const row of rows)
            await tx.run(
              q.upsertAssignment.sql,
              q.upsertAssignment.bind({
                user_id: row.userId,
                system_id: row.systemId,
                method: row.method,
                channel: row.channel,
              }),
            )
          await appendAudit(tx, audit)
        }),
      ),
    listAssignments: (userId) =>
      guard('listAssignments', async () =>
        (await exec.all(q.listAssignments.sql, q.listAssignments.bind({ user_id: userId }))).map(
          toAssignment,
        ),
      ),

    resolveLogin: (accountId, system, authid) =>
      guard('resolveLogin', async () => {
        const [row] = await exec.all(
          q.resolveLogin.sql,
          q.resolveLogin.bind({ account_id: accountId, system, authid }),
        )
        if (!row) return null
        const user = unprefix(row, 'u', 'id')
        const assignment = unprefix(row, 'a', 'user_id')
        const challenge = unprefix(row, 'c', 'id')
        return {
          system: toSystem(unprefix(row, 's', 'id') as Record<string, unknown>),
          user: user ? toUser(user) : null,
          assignment: assignment ? toAssignment(assignment) : null,
          challenge: challenge ? toChallenge(challenge) : null,
        }
      }),

    issueChallenge: (challenge, audit) =>
      guard('issueChallenge', async () => {
        try {
          return await exec.transaction(async (tx) => {
            const pair = { user_id: challenge.userId, system_id: challenge.systemId }
            // Pointing the assignment first write-locks its row, so a concurrent start for the same pair
            // waits here and then supersedes this challenge, never leaving two live ones.
            const pointed = await tx.run(
              q.pointAssignment.sql,
              q.pointAssignment.bind({ ...pair, challenge_id: challenge.id }),
            )
            if (pointed !== 1) throw new Rollback()
            await tx.run(q.supersede.sql, q.supersede.bind({ ...pair, at: challenge.createdAt }))
            await tx.run(q.insertChallenge.sql, q.insertChallenge.bind(challengeParams(challenge)))
            await appendAudit(tx, audit)
            return true
          })
        } catch (error) {
          if (error instanceof Rollback) return false
          throw error
        }
      }),

    getChallenge: (id) =>
      guard('getChallenge', () => one(q.getChallenge.sql, q.getChallenge.bind({ id }), toChallenge)),
    getChallengeByLinkHash: (linkHash) =>
      guard('getChallengeByLinkHash', () =>
        one(
          q.getChallengeByLinkHash.sql,
          q.getChallengeByLinkHash.bind({ link_hash: linkHash }),
          toChallenge,
        ),
      ),

    confirmLink: (linkHash, at, audit) =>
      guard('confirmLink', () =>
        exec.transaction(async (tx) => {
          const [row] = await tx.all(q.confirmLink.sql, q.confirmLink.bind({ link_hash: linkHash, at }))
          if (!row) return null
          const confirmed = toChallenge(row)
          await appendAudit(tx, [audit(confirmed)])
          return confirmed
        }),
      ),

    reserveAttempt: (id, at) =>
      guard('reserveAttempt', async () => {
        const [row] = await exec.all<{ attempts: number }>(
          q.reserveAttempt.sql,
          q.reserveAttempt.bind({ id, at }),
        )
        return row ? Number(row.attempts) : null
      }),

    transitionChallenge: (move, audit) =>
      guard('transitionChallenge', () =>
        exec.transaction(async (tx) => {
          const moved = await tx.run(
            q.transition.sql,
            q.transition.bind({
              id: move.id,
              from1: move.from[0],
              from2: move.from[1] ?? move.from[0],
              to: move.to,
              at: move.at,
              reported: move.reported ? 1 : 0,
            }),
          )
          if (moved !== 1) return false
          await appendAudit(tx, audit)
          return true
        }),
      ),

    expireDue: (at, limit, audit) =>
      guard('expireDue', () =>
        exec.transaction(async (tx) => {
          const rows = (await tx.all(q.expireDue.sql, q.expireDue.bind({ at, limit }))).map(toChallenge)
          await appendAudit(tx, rows.map(audit))
          return rows
        }),
      ),

    appendAudit: (audit) => guard('appendAudit', () => exec.transaction((tx) => appendAudit(tx, audit))),
    listAudit: ({ accountId, after = 0, limit }) =>
      guard('listAudit', async () =>
        (await exec.all(q.listAudit.sql, q.listAudit.bind({ account_id: accountId, after, limit }))).map(
          toAuditEvent,
        ),
      ),
  }
  return storage
}
