import {
  type AccountStore,
  type ApiKeyStore,
  type AuditDraft,
  type AuditEvent,
  type AuditSealer,
  type AuditStore,
  ConflictError,
  type IssueOutcome,
  type LoginStore,
  type OutboxStore,
  type SendLimit,
  type Storage,
  StorageError,
  type StorageInspector,
  type SystemStore,
  type UserStore,
  ValidationError,
} from '@flexsecure/core'
import { type Kysely, Migrator, sql } from 'kysely'
import { adminQueries } from './admin-queries.js'
import { completionCodeQueries } from './completion-code-queries.js'
import { dialectOf } from './console-schema.js'
import { consoleSessionQueries } from './console-session-queries.js'
import { finishDeliveries, finishDeliveryArgs } from './delivery-outcome-batch.js'
import { migrations } from './migrations.js'
import { mysqlVariants, type ReturningUpdate } from './mysql-variants.js'
import { dueDeliveries, UNFINISHED } from './outbox-queries.js'
import { literals, type PreparedQuery, param, prepare } from './prepared-query.js'
import { purgeEndedChallenges } from './retention-queries.js'
import {
  ACCOUNT_COLUMNS,
  API_KEY_COLUMNS,
  ASSIGNMENT_COLUMNS,
  AUDIT_COLUMNS,
  CHALLENGE_COLUMNS,
  challengeParams,
  columnsOf,
  DELIVERY_COLUMNS,
  deliveryParams,
  LOGIN_SYSTEM_COLUMNS,
  prefixed,
  SYSTEM_COLUMNS,
  toAccount,
  toApiKey,
  toAssignment,
  toAuditEvent,
  toChallenge,
  toDelivery,
  toSystem,
  toUser,
  USER_COLUMNS,
} from './row-mapping.js'
import type { Database } from './schema.js'
import { secretStoreQueries } from './secret-store-queries.js'
import { DEFERRED, kyselyExecutor, type SqlExecutor } from './sql-executor.js'

export interface KyselyStorageOptions {
  /** A Kysely instance on the database; used to build queries once and to run migrations. */
  readonly db: Kysely<Database>
  /** How statements run; defaults to Kysely's own driver. The SQLite adapter passes a faster one. */
  readonly executor?: SqlExecutor
  /** Called by `close()`, e.g. to close the driver's connection. */
  readonly onClose?: () => Promise<void>
  /**
   * Whether the database has `UPDATE … RETURNING` and `INSERT … ON CONFLICT … DO UPDATE … WHERE`
   * (SQLite, PostgreSQL). Without them (MySQL, MariaDB) the few statements that need them take the
   * variants in `mysql-variants.ts`. Default true.
   */
  readonly standardSql?: boolean
  /**
   * Whether the outbox's claim may say `FOR UPDATE SKIP LOCKED` (PostgreSQL), so that instances
   * claiming at once take different rows instead of queueing on the same ones. Default false.
   */
  readonly skipLocked?: boolean
  /**
   * Whether one statement may write two tables through a writable CTE (`WITH … AS (INSERT …) UPDATE …`,
   * PostgreSQL): the audit events and their chain head then go in one round trip. Default false.
   */
  readonly writableCte?: boolean
  /**
   * Whether every statement costs a round trip to a server (PostgreSQL, MySQL): then the send limits and
   * the audit rows of a transaction go in one statement each. SQLite runs one row per statement, which
   * is cheaper there than the CASE a multi-row upsert needs. Default false.
   */
  readonly batchWrites?: boolean
}

/** Ends a transaction with a rollback that is an answer, not an error. */
class Rollback<T> extends Error {
  constructor(readonly outcome: T) {
    super('rollback')
  }
}

/** Unique-constraint violations, however the dialect spells them. */
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
/** Audit rows per INSERT: a bound on the statements compiled (one per count) and on their parameters. */
const AUDIT_ROWS_PER_STATEMENT = 32
// biome-ignore lint/suspicious/noExplicitAny: prefixed column lists are checked at run time by the tests
const cols = (list: readonly string[]) => list as any
const columnParams = (list: readonly string[]) => Object.fromEntries(list.map((c) => [c, param(c)])) as never

/** A Storage that can also say which migrations it has not run: what a readiness probe asks. */
export type KyselyStorage = Storage & {
  /** Reads the migration table (so the database must be reachable); `pending` is empty when current. */
  migrationStatus(): Promise<{ readonly pending: readonly string[] }>
}

/**
 * The Storage port over any Kysely dialect. Every hot query is compiled once here; each challenge move
 * is one conditional UPDATE, and audit rows join the transaction of the change they record.
 *
 * ```ts
 * const storage = kyselyStorage({ db: new Kysely<Database>({ dialect }) })
 * ```
 */
export function kyselyStorage(options: KyselyStorageOptions): KyselyStorage {
  const { db } = options
  const exec = options.executor ?? kyselyExecutor(db as Kysely<unknown>)
  let seal: AuditSealer | null = null
  const mysql = options.standardSql === false ? mysqlVariants(db) : null

  const q = {
    insertAccount: prepare(db.insertInto('fs_accounts').values(columnParams(ACCOUNT_COLUMNS))),
    insertAuditHead: prepare<{ account_id: string; head_mac: string }>(
      db.insertInto('fs_audit_heads').values({
        account_id: param('account_id'),
        seq: 0,
        mac: null,
        anchor_mac: null,
        head_mac: param('head_mac'),
      }),
    ),
    getAccount: prepare<{ id: string }>(
      db.selectFrom('fs_accounts').select(cols(ACCOUNT_COLUMNS)).where('id', '=', param('id')),
    ),
    listAccounts: prepare<Record<string, never>>(
      db.selectFrom('fs_accounts').select(cols(ACCOUNT_COLUMNS)).orderBy('id'),
    ),
    updateAccountSettings: prepare<{ id: string; settings: string }>(
      db
        .updateTable('fs_accounts')
        .set({ settings: param('settings') })
        .where('id', '=', param('id')),
    ),

    insertApiKey: prepare(db.insertInto('fs_api_keys').values(columnParams(API_KEY_COLUMNS))),
    listApiKeys: prepare<{ account_id: string }>(
      db
        .selectFrom('fs_api_keys')
        .select(cols(API_KEY_COLUMNS))
        .where('account_id', '=', param('account_id'))
        .orderBy('created_at')
        .orderBy('id'),
    ),
    getApiKeyBySha256: prepare<{ sha256: string }>(
      db.selectFrom('fs_api_keys').select(cols(API_KEY_COLUMNS)).where('sha256', '=', param('sha256')),
    ),
    revokeApiKey: prepare<{ account_id: string; id: string; at: number }>(
      db
        .updateTable('fs_api_keys')
        .set({ revoked_at: param('at') })
        .where('id', '=', param('id'))
        .where('account_id', '=', param('account_id'))
        .where('revoked_at', 'is', null),
    ),
    touchApiKey: prepare<{ id: string; at: number; stale_before: number }>(
      db
        .updateTable('fs_api_keys')
        .set({ last_used_at: param('at') })
        .where('id', '=', param('id'))
        .where((eb) =>
          eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', param('stale_before'))]),
        ),
    ),

    insertSystem: prepare(db.insertInto('fs_systems').values(columnParams(SYSTEM_COLUMNS))),
    updateSystem: prepare<{
      id: string
      policies: string
      return_url: string | null
      messages: string | null
      sensitivity: string
      rules: string
      rules_version: number
      updated_at: number
      expected_updated_at: number | null
    }>(
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

    insertUser: prepare(db.insertInto('fs_users').values(columnParams(USER_COLUMNS))),
    updateUser: prepare<Record<string, unknown>>(
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
    addFailure: prepare<{ id: string }>(
      db
        .updateTable('fs_users')
        .set((eb) => ({ failure_streak: eb('failure_streak', '+', 1) }))
        .where('id', '=', param('id'))
        .returning('failure_streak'),
    ),
    applyFailure: prepare<{ id: string; retry_after: number | null; lock: number; at: number }>(
      db
        .updateTable('fs_users')
        .set({
          // Never shorten a delay already running.
          retry_after: sql`CASE WHEN ${sql.ref('retry_after')} IS NULL OR ${sql.ref('retry_after')} < ${param('retry_after')} THEN ${param('retry_after')} ELSE ${sql.ref('retry_after')} END`,
          status: sql`CASE WHEN ${param('lock')} = 1 THEN 'locked' ELSE ${sql.ref('status')} END`,
          updated_at: param('at'),
        })
        .where('id', '=', param('id')),
    ),
    resetFailures: prepare<{ id: string }>(
      db
        .updateTable('fs_users')
        .set({ failure_streak: 0, retry_after: null })
        .where('id', '=', param('id'))
        .where((eb) => eb.or([eb('failure_streak', '>', 0), eb('retry_after', 'is not', null)])),
    ),
    unlockLocked: prepare<{ id: string; at: number }>(
      db
        .updateTable('fs_users')
        .set({ status: 'active', failure_streak: 0, retry_after: null, updated_at: param('at') })
        .where('id', '=', param('id'))
        .where('status', '=', 'locked'),
    ),
    clearFailures: prepare<{ id: string; at: number }>(
      db
        .updateTable('fs_users')
        .set({ failure_streak: 0, retry_after: null, updated_at: param('at') })
        .where('id', '=', param('id')),
    ),
    removeUser: prepare<{ id: string }>(db.deleteFrom('fs_users').where('id', '=', param('id'))),

    upsertAssignment: prepare<{ user_id: string; system_id: string; method: string; channel: string | null }>(
      db
        .insertInto('fs_assignments')
        .values({
          user_id: param('user_id'),
          system_id: param('system_id'),
          method: param('method'),
          channel: param('channel'),
          challenge_id: null,
          previous_challenge_id: null,
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

    // One read for start and check: the account, then whatever exists of system, user, assignment and
    // the assignment's current challenge.
    resolveLogin: prepare<{ account_id: string; system: string; authid: string }>(
      db
        .selectFrom('fs_accounts as acc')
        .leftJoin('fs_systems as s', (join) =>
          join.onRef('s.account_id', '=', 'acc.id').on('s.name', '=', param('system')),
        )
        .leftJoin('fs_users as u', (join) =>
          join.onRef('u.account_id', '=', 'acc.id').on('u.authid', '=', param('authid')),
        )
        .leftJoin('fs_assignments as a', (join) =>
          join.onRef('a.user_id', '=', 'u.id').onRef('a.system_id', '=', 's.id'),
        )
        .leftJoin('fs_challenges as c', 'c.id', 'a.challenge_id')
        .leftJoin('fs_deliveries as dl', 'dl.id', 'c.delivery_id')
        .select(
          cols([
            'dl.status as c_delivery_status',
            ...prefixed('acc', ACCOUNT_COLUMNS),
            ...prefixed('s', LOGIN_SYSTEM_COLUMNS),
            ...prefixed('u', USER_COLUMNS),
            ...prefixed('a', ASSIGNMENT_COLUMNS),
            ...prefixed('c', CHALLENGE_COLUMNS),
          ]),
        )
        .where('acc.id', '=', param('account_id')),
    ),

    limitWindowEnd: prepare<{ key: string }>(
      db.selectFrom('fs_rate_limits').select('window_end').where('key', '=', param('key')),
    ),
    sweepRateLimits: prepare<{ at: number }>(
      db.deleteFrom('fs_rate_limits').where('window_end', '<=', param('at')),
    ),

    // Issuing: the pointer moves first (locking the assignment row) and remembers what it replaced.
    pointAssignment: prepare<{ user_id: string; system_id: string; challenge_id: string }>(
      db
        .updateTable('fs_assignments')
        .set((eb) => ({ previous_challenge_id: eb.ref('challenge_id'), challenge_id: param('challenge_id') }))
        .where('user_id', '=', param('user_id'))
        .where('system_id', '=', param('system_id')),
    ),
    supersede: prepare<{ user_id: string; system_id: string; at: number }>(
      db
        .updateTable('fs_challenges')
        .set({ status: 'superseded', completed_at: param('at') })
        .where('id', '=', (eb) =>
          eb
            .selectFrom('fs_assignments')
            .select('previous_challenge_id')
            .where('user_id', '=', param('user_id'))
            .where('system_id', '=', param('system_id')),
        )
        .where('status', 'in', literals(LIVE)),
    ),
    insertChallenge: prepare<ReturnType<typeof challengeParams>>(
      db.insertInto('fs_challenges').values(columnParams(CHALLENGE_COLUMNS)),
    ),
    getChallenge: prepare<{ id: string }>(
      db
        .selectFrom('fs_challenges as c')
        .leftJoin('fs_deliveries as dl', 'dl.id', 'c.delivery_id')
        .select(cols([...CHALLENGE_COLUMNS.map((c) => `c.${c}`), 'dl.status as delivery_status']))
        .where('c.id', '=', param('id')),
    ),
    getChallengeByLinkHash: prepare<{ link_hash: string }>(
      db
        .selectFrom('fs_challenges')
        .select(cols(CHALLENGE_COLUMNS))
        .where('link_hash', '=', param('link_hash')),
    ),
    confirmLink: prepare<{ link_hash: string; at: number; match_code: string | null }>(
      db
        .updateTable('fs_challenges')
        .set({ status: 'confirmed', attempts: 0 })
        .where('link_hash', '=', param('link_hash'))
        .where('status', '=', 'pending')
        .where('expires_at', '>', param('at'))
        .where((eb) => eb.or([eb('match_code', 'is', null), eb('match_code', '=', param('match_code'))]))
        .returning(cols(CHALLENGE_COLUMNS)),
    ),
    // Number matching (S12): every guess at the code takes an attempt before it is compared, so
    // however many arrive at once, at most the budget is ever compared.
    reserveMatchAttempt: prepare<{ link_hash: string; at: number }>(
      db
        .updateTable('fs_challenges')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('link_hash', '=', param('link_hash'))
        .where('status', '=', 'pending')
        .where('expires_at', '>', param('at'))
        .where('match_code', 'is not', null)
        .whereRef('attempts', '<', 'max_attempts'),
    ),
    systemRules: prepare<{ id: string }>(
      db.selectFrom('fs_systems').select(['rules', 'rules_version']).where('id', '=', param('id')),
    ),
    userHistory: prepare<{ user_id: string; device: string }>(
      db
        .selectFrom('fs_challenges')
        .select((eb) => [
          eb.fn.max('completed_at').as('last_success_at'),
          eb.fn
            .max(sql<number>`CASE WHEN ${sql.ref('device')} = ${param('device')} THEN 1 ELSE 0 END`)
            .as('known'),
        ])
        .where('user_id', '=', param('user_id'))
        .where('status', '=', sql.lit('authenticated')),
    ),
    setMemorizedPin: prepare<{ id: string; hash: string | null; at: number }>(
      db
        .updateTable('fs_users')
        .set({ memorized_pin_hash: param('hash'), updated_at: param('at') })
        .where('id', '=', param('id')),
    ),
    reserveAttempt: prepare<{ id: string; at: number; status: string }>(
      db
        .updateTable('fs_challenges')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', param('id'))
        .where('status', '=', param('status'))
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
      reset_attempts: number
    }>(
      db
        .updateTable('fs_challenges')
        .set(() => ({
          status: param('to'),
          // `confirmed` is a step on the way (a link confirmed, a first layer passed), not an end.
          completed_at: sql<number>`CASE WHEN ${param('to')} = 'confirmed' THEN ${sql.ref('completed_at')} ELSE COALESCE(${sql.ref('completed_at')}, ${param('at')}) END`,
          outcome_reported: param('reported'),
          // The next layer gets the whole attempt budget.
          attempts: sql<number>`CASE WHEN ${param('reset_attempts')} = 1 THEN 0 ELSE ${sql.ref('attempts')} END`,
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
            .where('status', 'in', literals(LIVE))
            .where('expires_at', '<=', param('at'))
            .limit(param('limit')),
        )
        .where('status', 'in', literals(LIVE))
        .returning(cols(CHALLENGE_COLUMNS)),
    ),

    // Write-locks an account's row (a write that changes nothing) and reads it: settings updates serialize.
    lockAccount: prepare<{ id: string }>(
      db
        .updateTable('fs_accounts')
        .set((eb) => ({ settings: eb.ref('settings') }))
        .where('id', '=', param('id'))
        .returning(cols(ACCOUNT_COLUMNS)),
    ),
    advanceAuditHead: prepare<{ account_id: string; count: number }>(
      db
        .updateTable('fs_audit_heads')
        .set((eb) => ({ seq: eb('seq', '+', param<number>('count')) }))
        .where('account_id', '=', param('account_id'))
        .returning(['seq', 'mac', 'anchor_seq', 'anchor_mac']),
    ),
    setAuditHeadMac: prepare<{ account_id: string; mac: string; head_mac: string }>(
      db
        .updateTable('fs_audit_heads')
        .set({ mac: param('mac'), head_mac: param('head_mac') })
        .where('account_id', '=', param('account_id')),
    ),
    lockAuditHead: prepare<{ account_id: string }>(
      db
        .updateTable('fs_audit_heads')
        .set((eb) => ({ anchor_seq: eb.ref('anchor_seq') }))
        .where('account_id', '=', param('account_id'))
        .returning(['seq', 'mac', 'anchor_seq']),
    ),
    getAuditHead: prepare<{ account_id: string }>(
      db
        .selectFrom('fs_audit_heads')
        .select(['seq', 'mac', 'anchor_seq', 'anchor_mac', 'head_mac'])
        .where('account_id', '=', param('account_id')),
    ),
    insertDelivery: prepare<ReturnType<typeof deliveryParams>>(
      db.insertInto('fs_deliveries').values(columnParams(DELIVERY_COLUMNS)),
    ),
    claimDeliveries: prepare<{ at: number; until: number; limit: number }>(
      db
        .updateTable('fs_deliveries')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          claimed_until: param('until'),
          updated_at: param('at'),
        }))
        .where('id', 'in', () => {
          const due = dueDeliveries(db, 'challenge').limit(param('limit'))
          return options.skipLocked ? due.forUpdate('d').skipLocked() : due
        })
        // Again on the row itself: under PostgreSQL's READ COMMITTED, this is re-checked on the newest version.
        .where('status', 'in', literals(UNFINISHED))
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', param('at'))]))
        .returning(cols(DELIVERY_COLUMNS)),
    ),
    finishDelivery: prepare<Record<string, unknown>>(
      db
        .updateTable('fs_deliveries')
        .set({
          status: param('to'),
          next_attempt_at: sql`COALESCE(${param('next_attempt_at')}, ${sql.ref('next_attempt_at')})`,
          claimed_until: null,
          provider_id: param('provider_id'),
          last_error: param('last_error'),
          // A final delivery keeps no payload: the secret it carried is gone from the database.
          payload: sql`CASE WHEN ${param('wipe')} = 1 THEN NULL ELSE ${sql.ref('payload')} END`,
          updated_at: param('at'),
        })
        .where('id', '=', param('id'))
        .where('attempts', '=', param('attempt'))
        .where('status', 'in', literals(UNFINISHED)),
    ),
    // A fallback becomes the delivery `check` reports, and its channel the one the secret travels on.
    pointChallengeDelivery: prepare<{ id: string; delivery_id: string; channel: string }>(
      db
        .updateTable('fs_challenges')
        .set({ delivery_id: param('delivery_id'), channel: param('channel') })
        .where('id', '=', param('id')),
    ),
    cancelDeliveries: prepare<{ at: number; limit: number }>(
      db
        .updateTable('fs_deliveries')
        .set({ status: 'cancelled', payload: null, claimed_until: null, updated_at: param('at') })
        .where('id', 'in', () => dueDeliveries(db, 'ended').limit(param('limit')))
        .where('status', 'in', literals(UNFINISHED))
        .returning(cols(DELIVERY_COLUMNS)),
    ),
    listDeliveries: prepare<{ challenge_id: string }>(
      db
        .selectFrom('fs_deliveries')
        .select(cols(DELIVERY_COLUMNS))
        .where('challenge_id', '=', param('challenge_id'))
        .orderBy('created_at')
        .orderBy('id'),
    ),

    lastAuditBefore: prepare<{ account_id: string; before: number }>(
      db
        .selectFrom('fs_audit_events')
        .select(['seq', 'mac'])
        .where('account_id', '=', param('account_id'))
        .where('at', '<', param('before'))
        .orderBy('seq', 'desc')
        .limit(1),
    ),
    deleteAuditThrough: prepare<{ account_id: string; seq: number }>(
      db
        .deleteFrom('fs_audit_events')
        .where('account_id', '=', param('account_id'))
        .where('seq', '<=', param('seq')),
    ),
    setAuditAnchor: prepare<{ account_id: string; seq: number; mac: string; head_mac: string }>(
      db
        .updateTable('fs_audit_heads')
        .set({ anchor_seq: param('seq'), anchor_mac: param('mac'), head_mac: param('head_mac') })
        .where('account_id', '=', param('account_id'))
        .where('anchor_seq', '<', param('seq')),
    ),
  }

  /** `UPDATE … RETURNING`; on MySQL, the UPDATE and then a read of the row it locked, in the same transaction. */
  function updateReturning<R = Record<string, unknown>>(
    tx: SqlExecutor,
    name: ReturningUpdate,
    args: Record<string, unknown>,
  ): Promise<R[]> {
    if (mysql) return mysql.updateThenRead<R>(tx, name, args)
    const query = q[name] as PreparedQuery<Record<string, unknown>>
    return tx.all<R>(query.sql, query.bind(args))
  }

  /** Appends drafts to their accounts' chains: one head move per account, then each event sealed in turn. */
  async function appendAudit(tx: SqlExecutor, drafts: readonly AuditDraft[]): Promise<void> {
    if (drafts.length === 0) return
    const sealer = requireSealer()
    const byAccount = new Map<string, AuditDraft[]>()
    for (const draft of drafts) {
      const list = byAccount.get(draft.accountId)
      if (list) list.push(draft)
      else byAccount.set(draft.accountId, [draft])
    }
    for (const [accountId, list] of byAccount) {
      const [head] = await updateReturning<{
        seq: number
        mac: string | null
        anchor_seq: number
        anchor_mac: string | null
      }>(tx, 'advanceAuditHead', { account_id: accountId, count: list.length })
      if (!head) throw new StorageError(`no audit trail for account ${accountId}`)
      let seq = Number(head.seq) - list.length
      let previous = head.mac ?? null
      const rows: Record<string, unknown>[] = []
      for (const draft of list) {
        seq += 1
        // Seal exactly what is stored: details as they will read back from their JSON text.
        const detailsText = draft.details === null ? null : JSON.stringify(draft.details)
        const details = detailsText === null ? null : JSON.parse(detailsText)
        const mac = sealer.event(previous, { ...draft, details, seq })
        rows.push({
          account_id: draft.accountId,
          seq,
          at: draft.at,
          type: draft.type,
          actor: draft.actor,
          system: draft.system,
          authid: draft.authid,
          challenge_id: draft.challengeId,
          outcome: draft.outcome,
          reason: draft.reason,
          ip: draft.ip,
          user_agent: draft.userAgent,
          details: detailsText,
          prev_mac: previous,
          mac,
        })
        previous = mac
      }
      const anchor = { anchorSeq: Number(head.anchor_seq ?? 0), anchorMac: head.anchor_mac ?? null }
      const headMac = { account_id: accountId, mac: previous as string }
      const newHead = { ...headMac, head_mac: sealer.head({ accountId, seq, mac: previous, ...anchor }) }
      await writeAudit(tx, rows, newHead)
    }
  }

  /**
   * Inserts sealed events (many rows per statement with `batchWrites`) and moves the head's MAC. Where the database lets
   * a statement write two tables (PostgreSQL's writable CTEs), the last rows and the head go in one
   * statement: a round trip less on every audited transaction.
   */
  async function writeAudit(
    tx: SqlExecutor,
    rows: readonly Record<string, unknown>[],
    head: { account_id: string; mac: string; head_mac: string },
  ): Promise<void> {
    const perStatement = options.batchWrites ? AUDIT_ROWS_PER_STATEMENT : 1
    for (let from = 0; from < rows.length; from += perStatement) {
      const chunk = rows.slice(from, from + perStatement)
      const last = from + chunk.length === rows.length
      const query = auditInsert(chunk.length, last && options.writableCte === true)
      const args: Record<string, unknown> = last ? { ...head } : {}
      chunk.forEach((row, i) => {
        const names = auditParamNames(i)
        AUDIT_COLUMNS.forEach((column, c) => {
          args[names[c] as string] = row[column]
        })
      })
      await tx.run(query.sql, query.bind(args))
      if (last && options.writableCte !== true)
        await tx.run(q.setAuditHeadMac.sql, q.setAuditHeadMac.bind(head))
    }
  }

  /**
   * Counts one send against each limit: a counter whose window ended starts again at 1; one at its limit
   * is left alone. Returns the first limit (in the caller's order) that refused, if any; a refusal rolls
   * the whole transaction back, so the other counters do not keep this send. The last limit is the one
   * the whole account shares (the Storage contract): it is taken on its own, after the others passed, so
   * a start refused by its own counters never locks it. With `batchWrites` the others go in one
   * multi-row upsert returning the keys it took; otherwise (SQLite, where a statement is no round trip
   * and one row each is cheaper than the CASE of a multi-row upsert) one upsert per counter.
   */
  async function takeLimits(tx: SqlExecutor, limits: readonly SendLimit[], now: number) {
    if (mysql) {
      for (const limit of limits) {
        const args = { key: limit.key, now, window_end: now + limit.windowMs, limit: limit.limit }
        if ((await mysql.takeLimit(tx, args)) !== 1) return limit
      }
      return null
    }
    const distinct = new Set(limits.map((limit) => limit.key)).size === limits.length
    const groups =
      options.batchWrites && distinct && limits.length > 2
        ? [limits.slice(0, -1), limits.slice(-1)]
        : limits.map((limit) => [limit])
    for (const group of groups) {
      const query = limitsUpsert(group.length)
      const args: Record<string, unknown> = { now }
      group.forEach((limit, i) => {
        args[`key_${i}`] = limit.key
        args[`window_end_${i}`] = now + limit.windowMs
        args[`limit_${i}`] = limit.limit
      })
      if (group.length === 1) {
        // One counter: the count of rows written says it all.
        if ((await tx.run(query.sql, query.bind(args))) !== 1) return group[0] as SendLimit
        continue
      }
      const rows = await tx.all<{ key: string }>(query.sql, query.bind(args))
      const taken = new Set(rows.map((row) => row.key))
      const refused = group.find((limit) => !taken.has(limit.key))
      if (refused) return refused
    }
    return null
  }

  const limitUpserts = new Map<number, PreparedQuery<Record<string, unknown>>>()
  function limitsUpsert(count: number): PreparedQuery<Record<string, unknown>> {
    let query = limitUpserts.get(count)
    if (!query) {
      const indexes = Array.from({ length: count }, (_, i) => i)
      const ended = sql`${sql.ref('fs_rate_limits.window_end')} <= ${param('now')}`
      // Each counter's own limit, picked by its key: the upsert sees only the row and its `excluded`.
      const limitOf =
        count === 1
          ? sql`CAST(${param('limit_0')} AS integer)`
          : sql`CASE ${sql.ref('excluded.key')} ${sql.join(
              indexes.map((i) => sql`WHEN ${param(`key_${i}`)} THEN CAST(${param(`limit_${i}`)} AS integer)`),
              sql` `,
            )} END`
      const upsert = db
        .insertInto('fs_rate_limits')
        .values(
          indexes.map((i) => ({ key: param(`key_${i}`), window_end: param(`window_end_${i}`), count: 1 })),
        )
        .onConflict((oc) =>
          oc
            .column('key')
            .doUpdateSet({
              count: sql`CASE WHEN ${ended} THEN 1 ELSE ${sql.ref('fs_rate_limits.count')} + 1 END`,
              window_end: sql`CASE WHEN ${ended} THEN ${sql.ref('excluded.window_end')} ELSE ${sql.ref('fs_rate_limits.window_end')} END`,
            })
            .where(sql<boolean>`${ended} OR ${sql.ref('fs_rate_limits.count')} < ${limitOf}`),
        )
      query = prepare(count === 1 ? upsert : upsert.returning('key'))
      limitUpserts.set(count, query)
    }
    return query
  }

  // The parameter names of the i-th row of a multi-row audit insert, e.g. `seq_2`.
  const auditNames: string[][] = []
  const auditParamNames = (i: number): string[] =>
    (auditNames[i] ??= AUDIT_COLUMNS.map((column) => `${column}_${i}`))

  // Compiled once per row count (at most AUDIT_ROWS_PER_STATEMENT of each kind).
  const auditInserts = new Map<string, PreparedQuery<Record<string, unknown>>>()
  function auditInsert(count: number, withHead: boolean): PreparedQuery<Record<string, unknown>> {
    const key = `${count}:${withHead}`
    let query = auditInserts.get(key)
    if (!query) {
      const values = Array.from({ length: count }, (_, i) =>
        Object.fromEntries(
          AUDIT_COLUMNS.map((column, c) => [column, param(auditParamNames(i)[c] as string)]),
        ),
      )
      const insert = db.insertInto('fs_audit_events').values(values as never)
      query = withHead
        ? prepare(
            db
              .with('events', () => insert)
              .updateTable('fs_audit_heads')
              .set({ mac: param('mac'), head_mac: param('head_mac') })
              .where('account_id', '=', param('account_id')),
          )
        : prepare(insert)
      auditInserts.set(key, query)
    }
    return query
  }

  function requireSealer(): AuditSealer {
    if (!seal)
      throw new StorageError('no audit sealer: create an engine on this storage before writing to it')
    return seal
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

  /** A transaction whose `Rollback` is an answer: rolls back and returns its outcome. */
  async function answering<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    try {
      return await exec.transaction(work)
    } catch (error) {
      if (error instanceof Rollback) return error.outcome as T
      throw error
    }
  }

  const one = async <T>(sqlText: string, parameters: unknown[], map: (row: Record<string, unknown>) => T) => {
    const [row] = await exec.all(sqlText, parameters)
    return row ? map(row) : null
  }

  // Each system's rules by version: the login's read carries the version, the rules come from here,
  // read once per version (a changed version, in any process, is a miss). Bounded.
  const rulesCache = new Map<string, string | null>()
  async function rulesFor(systemId: string, version: number): Promise<string | null> {
    if (version === 0) return null
    const key = `${systemId}:${version}`
    const cached = rulesCache.get(key)
    if (cached !== undefined) return cached
    const [row] = await exec.all<{ rules: string | null; rules_version: number | null }>(
      q.systemRules.sql,
      q.systemRules.bind({ id: systemId }),
    )
    const text = row?.rules ?? null
    // Cache under the version read with the text: if an update landed in between, that is the newer pair.
    if (rulesCache.size >= 1000) rulesCache.delete(rulesCache.keys().next().value as string)
    rulesCache.set(`${systemId}:${Number(row?.rules_version ?? 0)}`, text)
    return text
  }

  // How resolveLogin's joined row splits back into its tables.
  const joined = {
    account: columnsOf('acc', ACCOUNT_COLUMNS, 'id'),
    system: columnsOf('s', LOGIN_SYSTEM_COLUMNS, 'id'),
    user: columnsOf('u', USER_COLUMNS, 'id'),
    assignment: columnsOf('a', ASSIGNMENT_COLUMNS, 'user_id'),
    challenge: columnsOf('c', [...CHALLENGE_COLUMNS, 'delivery_status'], 'id'),
  }

  const flat: FlatStorage = {
    async migrationStatus() {
      const known = await new Migrator({
        db,
        provider: { getMigrations: async () => migrations },
      }).getMigrations()
      return {
        pending: known.filter((migration) => !migration.executedAt).map((migration) => migration.name),
      }
    },
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
    sealAuditWith(sealer: AuditSealer) {
      seal = sealer
    },

    insertAccount: (row) =>
      guard('insertAccount', () =>
        exec.transaction(async (tx) => {
          await tx.run(
            q.insertAccount.sql,
            q.insertAccount.bind({
              id: row.id,
              name: row.name,
              settings: JSON.stringify(row.settings),
              created_at: row.createdAt,
            }),
          )
          const head_mac = requireSealer().head({
            accountId: row.id,
            seq: 0,
            mac: null,
            anchorSeq: 0,
            anchorMac: null,
          })
          await tx.run(q.insertAuditHead.sql, q.insertAuditHead.bind({ account_id: row.id, head_mac }))
        }),
      ),
    getAccount: (id) =>
      guard('getAccount', () => one(q.getAccount.sql, q.getAccount.bind({ id }), toAccount)),
    listAccounts: () =>
      guard('listAccounts', async () =>
        (await exec.all(q.listAccounts.sql, q.listAccounts.bind({}))).map(toAccount),
      ),
    updateAccountSettings: (id, change, audit) =>
      guard('updateAccountSettings', () =>
        exec.transaction(async (tx) => {
          const [row] = await updateReturning(tx, 'lockAccount', { id })
          if (!row) return null
          const next = change(toAccount(row).settings)
          await tx.run(
            q.updateAccountSettings.sql,
            q.updateAccountSettings.bind({ id, settings: JSON.stringify(next) }),
          )
          await appendAudit(tx, audit(next))
          return next
        }),
      ),

    insertApiKey: (row, audit) =>
      guard('insertApiKey', () =>
        exec.transaction(async (tx) => {
          await tx.run(
            q.insertApiKey.sql,
            q.insertApiKey.bind({
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
          await appendAudit(tx, audit)
        }),
      ),
    listApiKeys: (accountId) =>
      guard('listApiKeys', async () =>
        (await exec.all(q.listApiKeys.sql, q.listApiKeys.bind({ account_id: accountId }))).map(toApiKey),
      ),
    getApiKeyBySha256: (sha256) =>
      guard('getApiKeyBySha256', () =>
        one(q.getApiKeyBySha256.sql, q.getApiKeyBySha256.bind({ sha256 }), toApiKey),
      ),
    revokeApiKey: (accountId, id, at, audit) =>
      guard('revokeApiKey', () =>
        answering(async (tx) => {
          const revoked = await tx.run(
            q.revokeApiKey.sql,
            q.revokeApiKey.bind({ account_id: accountId, id, at }),
          )
          if (revoked !== 1) throw new Rollback(false)
          await appendAudit(tx, audit)
          return true
        }),
      ),
    touchApiKey: (id, at, minIntervalMs) =>
      guard('touchApiKey', async () => {
        await exec.run(q.touchApiKey.sql, q.touchApiKey.bind({ id, at, stale_before: at - minIntervalMs }))
      }),

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
                return_url: row.returnUrl,
                messages: row.messages === null ? null : JSON.stringify(row.messages),
                sensitivity: row.sensitivity,
                rules: JSON.stringify(row.rules),
                rules_version: row.rules.version,
                created_at: row.createdAt,
                updated_at: row.updatedAt,
              }),
            )
            await appendAudit(tx, audit)
          }),
        'name',
      ),
    updateSystem: (row, audit, expectedUpdatedAt) =>
      guard('updateSystem', () =>
        exec.transaction(async (tx) => {
          const changed = await tx.run(
            q.updateSystem.sql,
            q.updateSystem.bind({
              id: row.id,
              policies: JSON.stringify(row.policies),
              return_url: row.returnUrl,
              messages: row.messages === null ? null : JSON.stringify(row.messages),
              sensitivity: row.sensitivity,
              rules: JSON.stringify(row.rules),
              rules_version: row.rules.version,
              updated_at: row.updatedAt,
              expected_updated_at: expectedUpdatedAt ?? null,
            }),
          )
          if (changed !== 1)
            throw new ConflictError(
              'system',
              'was changed by someone else meanwhile; read it again and retry',
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
              locale: row.locale,
              attributes: JSON.stringify(row.attributes),
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
    recordFailure: (
      userId: string,
      at: number,
      decide: (streak: number) => { retryAfter: number | null; lock: boolean },
      audit: readonly AuditDraft[],
      lockAudit: (streak: number) => AuditDraft,
    ) =>
      guard('recordFailure', () =>
        exec.transaction(async (tx) => {
          const [row] = await updateReturning<{ failure_streak: number }>(tx, 'addFailure', { id: userId })
          if (!row) {
            await appendAudit(tx, audit)
            return { streak: 0, locked: false }
          }
          const streak = Number(row.failure_streak)
          const { retryAfter, lock } = decide(streak)
          await tx.run(
            q.applyFailure.sql,
            q.applyFailure.bind({ id: userId, retry_after: retryAfter, lock: lock ? 1 : 0, at }),
          )
          await appendAudit(tx, lock ? [...audit, lockAudit(streak)] : audit)
          return { streak, locked: lock }
        }, DEFERRED),
      ),
    unlockUser: (userId, at, audit) =>
      guard('unlockUser', () =>
        exec.transaction(async (tx) => {
          // One conditional write answers "was it locked", whatever else runs at the same time.
          const wasLocked = (await tx.run(q.unlockLocked.sql, q.unlockLocked.bind({ id: userId, at }))) === 1
          if (!wasLocked) await tx.run(q.clearFailures.sql, q.clearFailures.bind({ id: userId, at }))
          await appendAudit(tx, audit)
          return wasLocked
        }),
      ),
    removeUser: (userId, audit) =>
      guard('removeUser', () =>
        answering(async (tx) => {
          if ((await tx.run(q.removeUser.sql, q.removeUser.bind({ id: userId }))) !== 1)
            throw new Rollback(false)
          await appendAudit(tx, audit)
          return true
        }),
      ),

    saveAssignments: (userId, rows, audit) =>
      guard('saveAssignments', () =>
        exec.transaction(async (tx) => {
          for (const row of rows)
            await tx.run(
              (mysql ?? q).upsertAssignment.sql,
              (mysql ?? q).upsertAssignment.bind({
                user_id: userId,
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
        const systemRow = joined.system(row)
        if (systemRow) systemRow.rules = await rulesFor(systemRow.id, Number(systemRow.rules_version ?? 0))
        const user = joined.user(row)
        const assignment = joined.assignment(row)
        const challenge = joined.challenge(row)
        return {
          account: toAccount(joined.account(row) as Record<string, unknown>),
          system: systemRow ? toSystem(systemRow) : null,
          user: user ? toUser(user) : null,
          assignment: assignment ? toAssignment(assignment) : null,
          challenge: challenge ? toChallenge(challenge) : null,
        }
      }),

    issueChallenge: (challenge, audit, limits, deliveries = []) =>
      guard('issueChallenge', () =>
        answering<IssueOutcome>(async (tx) => {
          const now = challenge.createdAt
          const refused = await takeLimits(tx, limits, now)
          if (refused) {
            const [window] = await tx.all<{ window_end: number }>(
              q.limitWindowEnd.sql,
              q.limitWindowEnd.bind({ key: refused.key }),
            )
            throw new Rollback<IssueOutcome>({
              issued: false,
              reason: 'rate_limited',
              key: refused.key,
              retryAfter: Number(window?.window_end ?? now + refused.windowMs),
            })
          }
          const pair = { user_id: challenge.userId, system_id: challenge.systemId }
          // Pointing the assignment first write-locks its row, so a concurrent start for the same pair
          // waits here; it remembers the challenge it replaced, which is superseded next.
          const pointed = await tx.run(
            q.pointAssignment.sql,
            q.pointAssignment.bind({ ...pair, challenge_id: challenge.id }),
          )
          if (pointed !== 1) throw new Rollback<IssueOutcome>({ issued: false, reason: 'not_assigned' })
          await tx.run(q.supersede.sql, q.supersede.bind({ ...pair, at: now }))
          await tx.run(q.insertChallenge.sql, q.insertChallenge.bind(challengeParams(challenge)))
          for (const delivery of deliveries)
            await tx.run(q.insertDelivery.sql, q.insertDelivery.bind(deliveryParams(delivery)))
          await appendAudit(tx, audit)
          return { issued: true }
        }),
      ),

    userHistory: (userId, device) =>
      guard('userHistory', async () => {
        const [row] = await exec.all<{ last_success_at: unknown; known: unknown }>(
          q.userHistory.sql,
          q.userHistory.bind({ user_id: userId, device: device ?? '' }),
        )
        const last = row?.last_success_at
        return {
          lastSuccessAt: last === null || last === undefined ? null : Number(last),
          knownDevice: device !== null && Number(row?.known ?? 0) === 1,
        }
      }),
    setMemorizedPin: (userId, hash, at, audit) =>
      guard('setMemorizedPin', () =>
        exec.transaction(async (tx) => {
          await tx.run(q.setMemorizedPin.sql, q.setMemorizedPin.bind({ id: userId, hash, at }))
          await appendAudit(tx, audit)
        }),
      ),

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

    confirmLink: (linkHash, at, audit, matchCode = null) =>
      guard('confirmLink', () =>
        exec.transaction(async (tx) => {
          // A link without a code (the usual one) confirms in one statement. A link with one: every
          // try, a missing code included, first takes an attempt; none left, and nothing confirms.
          let [row] = await updateReturning(tx, 'confirmLink', { link_hash: linkHash, at, match_code: null })
          if (!row) {
            const reserved = await tx.run(
              q.reserveMatchAttempt.sql,
              q.reserveMatchAttempt.bind({ link_hash: linkHash, at }),
            )
            if (reserved === 1 && matchCode !== null)
              [row] = await updateReturning(tx, 'confirmLink', {
                link_hash: linkHash,
                at,
                match_code: matchCode,
              })
          }
          if (!row) return null
          const confirmed = toChallenge(row)
          await appendAudit(tx, [audit(confirmed)])
          return confirmed
        }, DEFERRED),
      ),

    reserveAttempt: (id, at, status = 'pending') =>
      guard('reserveAttempt', async () => {
        // On MySQL the update and the read of its result need one transaction; elsewhere it is one statement.
        const [row] = mysql
          ? await exec.transaction(
              (tx) => updateReturning<{ attempts: number }>(tx, 'reserveAttempt', { id, at, status }),
              DEFERRED,
            )
          : await exec.all<{ attempts: number }>(
              q.reserveAttempt.sql,
              q.reserveAttempt.bind({ id, at, status }),
              DEFERRED,
            )
        return row ? Number(row.attempts) : null
      }),

    transitionChallenge: (move, audit, resetFailuresOf) =>
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
              reset_attempts: move.resetAttempts ? 1 : 0,
            }),
          )
          if (moved !== 1) return false
          if (resetFailuresOf !== undefined)
            await tx.run(q.resetFailures.sql, q.resetFailures.bind({ id: resetFailuresOf }))
          await appendAudit(tx, audit)
          return true
        }, DEFERRED),
      ),

    expireDue: (at, limit, audit) =>
      guard('expireDue', () =>
        exec.transaction(async (tx) => {
          const rows = (
            mysql
              ? await mysql.expireDue(tx, at, limit)
              : await tx.all(q.expireDue.sql, q.expireDue.bind({ at, limit }))
          ).map(toChallenge)
          await appendAudit(tx, rows.map(audit))
          return rows
        }),
      ),
    sweepRateLimits: (at) =>
      guard('sweepRateLimits', () => exec.run(q.sweepRateLimits.sql, q.sweepRateLimits.bind({ at }))),
    purgeEndedChallenges: (before, limit) =>
      guard('purgeEndedChallenges', () => purgeEndedChallenges(db, exec, before, limit)),

    claimDeliveries: (at, leaseMs, limit) =>
      guard('claimDeliveries', async () => {
        const args = { at, until: at + leaseMs, limit }
        const rows = mysql
          ? await exec.transaction((tx) => mysql.claimDeliveries(tx, args))
          : await exec.all(q.claimDeliveries.sql, q.claimDeliveries.bind(args))
        return rows.map(toDelivery)
      }),
    finishDelivery: (outcome, audit, fallback) =>
      guard('finishDelivery', () =>
        exec.transaction(async (tx) => {
          const moved = await tx.run(q.finishDelivery.sql, q.finishDelivery.bind(finishDeliveryArgs(outcome)))
          if (moved !== 1) return false
          if (fallback) {
            await tx.run(q.insertDelivery.sql, q.insertDelivery.bind(deliveryParams(fallback)))
            await tx.run(
              q.pointChallengeDelivery.sql,
              q.pointChallengeDelivery.bind({
                id: outcome.challengeId,
                delivery_id: fallback.id,
                channel: fallback.channel,
              }),
            )
          }
          await appendAudit(tx, audit)
          return true
        }),
      ),
    finishDeliveries: finishDeliveries({ exec, finishDelivery: q.finishDelivery, appendAudit, guard }),
    cancelDeliveries: (at, limit, audit) =>
      guard('cancelDeliveries', () =>
        exec.transaction(async (tx) => {
          const rows = (
            mysql
              ? await mysql.cancelDeliveries(tx, { at, limit })
              : await tx.all(q.cancelDeliveries.sql, q.cancelDeliveries.bind({ at, limit }))
          ).map(toDelivery)
          if (rows.length === 0) return rows
          // S25: the audit names the system and the user; the challenges hold them (compiled per call:
          // the sweep is not on the login path).
          const read = db
            .selectFrom('fs_challenges')
            .select(['id', 'system_name', 'authid'])
            .where('id', 'in', [...new Set(rows.map((row) => row.challengeId))])
            .compile()
          const owners = new Map(
            (
              await tx.all<{ id: string; system_name: string; authid: string }>(read.sql, read.parameters)
            ).map((c) => [c.id, { systemName: c.system_name, authid: c.authid }]),
          )
          await appendAudit(
            tx,
            rows.map((row) => audit(row, owners.get(row.challengeId) ?? null)),
          )
          return rows
        }),
      ),
    listDeliveries: (challengeId) =>
      guard('listDeliveries', async () =>
        (await exec.all(q.listDeliveries.sql, q.listDeliveries.bind({ challenge_id: challengeId }))).map(
          toDelivery,
        ),
      ),

    appendAudit: (audit) => guard('appendAudit', () => exec.transaction((tx) => appendAudit(tx, audit))),
    listAudit: (query) =>
      guard('listAudit', async () => {
        // Admin queries vary in shape, so this one is compiled per call; it is not on the login path.
        let select = db
          .selectFrom('fs_audit_events')
          .select(cols(AUDIT_COLUMNS))
          .where('account_id', '=', query.accountId)
          .where('seq', '>', query.after ?? 0)
        if (query.since !== undefined) select = select.where('at', '>=', query.since)
        if (query.until !== undefined) select = select.where('at', '<', query.until)
        if (query.system !== undefined) select = select.where('system', '=', query.system)
        if (query.authid !== undefined) select = select.where('authid', '=', query.authid)
        if (query.type !== undefined) select = select.where('type', '=', query.type)
        if (query.outcome !== undefined) select = select.where('outcome', '=', query.outcome)
        const compiled = select.orderBy('seq').limit(query.limit).compile()
        return (await exec.all(compiled.sql, compiled.parameters)).map(toAuditEvent) as AuditEvent[]
      }),
    getAuditHead: (accountId) =>
      guard('getAuditHead', () =>
        one(q.getAuditHead.sql, q.getAuditHead.bind({ account_id: accountId }), (r) => ({
          seq: Number(r.seq),
          mac: (r.mac as string | null) ?? null,
          anchorSeq: Number(r.anchor_seq ?? 0),
          anchorMac: (r.anchor_mac as string | null) ?? null,
          headMac: (r.head_mac as string | null) ?? null,
        })),
      ),
    purgeAudit: (accountId, before, audit) =>
      guard('purgeAudit', () =>
        exec.transaction(async (tx) => {
          const sealer = requireSealer()
          // Lock the head first: two purges at once (runDue in several processes) then run one after
          // the other, and the second sees the first's anchor, never moving it backwards.
          const [head] = await updateReturning<{ seq: number; mac: string | null; anchor_seq: number }>(
            tx,
            'lockAuditHead',
            { account_id: accountId },
          )
          if (!head) return 0
          const [last] = await tx.all<{ seq: number; mac: string }>(
            q.lastAuditBefore.sql,
            q.lastAuditBefore.bind({ account_id: accountId, before }),
          )
          if (!last || Number(last.seq) <= Number(head.anchor_seq)) return 0
          const seq = Number(last.seq)
          const purged = await tx.run(
            q.deleteAuditThrough.sql,
            q.deleteAuditThrough.bind({ account_id: accountId, seq }),
          )
          const head_mac = sealer.head({
            accountId,
            seq: Number(head.seq),
            mac: head.mac,
            anchorSeq: seq,
            anchorMac: last.mac,
          })
          await tx.run(
            q.setAuditAnchor.sql,
            q.setAuditAnchor.bind({ account_id: accountId, seq, mac: last.mac, head_mac }),
          )
          await appendAudit(tx, audit)
          return purged
        }),
      ),
  }
  // The console's optional stores (console-session-queries.ts, admin-queries.ts) share this storage's
  // executor, audit chain and error handling.
  const extension = { db, exec, dialect: dialectOf(db), appendAudit, guard }
  const storage: KyselyStorage = {
    migrationStatus: flat.migrationStatus,
    migrate: flat.migrate,
    close: flat.close,
    sealAuditWith: flat.sealAuditWith,
    ...groupStores(flat),
  }
  return Object.assign(storage, {
    consoleSessions: consoleSessionQueries(extension),
    adminQueries: adminQueries(extension),
    completionCodes: completionCodeQueries(extension),
    secretStore: secretStoreQueries(extension),
  })
}

// TEMPORARY while the SQL storage is split by store: groups the flat operations into the port's stores.
type FlatStorage = AccountStore &
  ApiKeyStore &
  SystemStore &
  UserStore &
  LoginStore &
  OutboxStore &
  AuditStore &
  StorageInspector &
  Pick<KyselyStorage, 'migrate' | 'close' | 'sealAuditWith' | 'migrationStatus'>

function groupStores(f: FlatStorage) {
  // biome-ignore lint/suspicious/noExplicitAny: temporary
  const g = f as any
  const pick = (names: string) => Object.fromEntries(names.split(' ').map((n) => [n, g[n]]))
  return {
    accounts: pick('insertAccount getAccount listAccounts updateAccountSettings'),
    apiKeys: pick('insertApiKey listApiKeys getApiKeyBySha256 revokeApiKey touchApiKey'),
    systems: pick('insertSystem updateSystem getSystem listSystems'),
    users: pick(
      'insertUser updateUser getUser listUsers removeUser saveAssignments listAssignments recordFailure unlockUser setMemorizedPin',
    ),
    logins: pick(
      'resolveLogin issueChallenge getChallenge getChallengeByLinkHash confirmLink reserveAttempt transitionChallenge userHistory expireDue sweepRateLimits purgeEndedChallenges',
    ),
    outbox: pick('claimDeliveries finishDelivery finishDeliveries cancelDeliveries'),
    audit: pick('appendAudit listAudit getAuditHead purgeAudit'),
    inspector: pick('listDeliveries'),
  } as unknown as Omit<Storage, 'migrate' | 'close' | 'sealAuditWith'>
}
