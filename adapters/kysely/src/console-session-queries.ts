import type { AuditDraft, ConsoleSessionRow, ConsoleSessionStore } from '@flexsecure/core'
import type { Compilable, Kysely } from 'kysely'
import type { ConsoleDatabase, ConsoleDialect } from './console-schema.js'
import type { Database } from './schema.js'
import type { SqlExecutor } from './sql-executor.js'

// The console's sessions in SQL (ConsoleSessionStore). Nothing here is on the login path, so each
// statement is compiled when it runs, as the admin queries of the shared storage are.

/** What the console's stores share with the storage they extend: its executor, audit and error handling. */
export interface ConsoleStoreDeps {
  readonly db: Kysely<Database>
  readonly exec: SqlExecutor
  readonly dialect: ConsoleDialect
  /** Appends audit drafts to their chains inside the caller's transaction. */
  readonly appendAudit: (tx: SqlExecutor, drafts: readonly AuditDraft[]) => Promise<void>
  /** Turns driver failures into StorageError, and unique violations into ConflictError on `conflictField`. */
  readonly guard: <T>(what: string, work: () => Promise<T>, conflictField?: string) => Promise<T>
}

/** Runs a Kysely query on an executor (the storage's, or a transaction's). */
export function rowsOf<Row = Record<string, unknown>>(tx: SqlExecutor, query: Compilable): Promise<Row[]> {
  const compiled = query.compile()
  return tx.all<Row>(compiled.sql, compiled.parameters)
}

/** Runs a Kysely write on an executor and returns how many rows it changed. */
export function changedBy(tx: SqlExecutor, query: Compilable): Promise<number> {
  const compiled = query.compile()
  return tx.run(compiled.sql, compiled.parameters)
}

const SESSION_COLUMNS = [
  'id',
  'token_hash',
  'account_id',
  'user_id',
  'authid',
  'challenge_id',
  'created_at',
  'last_seen_at',
  'authenticated_at',
  'expires_at',
  'revoked_at',
  'ip',
  'user_agent',
] as const

type Raw = Record<string, unknown>
const numOrNull = (value: unknown) => (value === null || value === undefined ? null : Number(value))

function toSession(r: Raw): ConsoleSessionRow {
  return {
    id: String(r.id),
    tokenHash: String(r.token_hash),
    accountId: String(r.account_id),
    userId: String(r.user_id),
    authid: String(r.authid),
    challengeId: String(r.challenge_id),
    createdAt: Number(r.created_at),
    lastSeenAt: Number(r.last_seen_at),
    authenticatedAt: Number(r.authenticated_at),
    expiresAt: Number(r.expires_at),
    revokedAt: numOrNull(r.revoked_at),
    ip: (r.ip as string | null) ?? null,
    userAgent: (r.user_agent as string | null) ?? null,
  }
}

/** ConsoleSessionStore over the shared storage's executor. */
export function consoleSessionQueries(deps: ConsoleStoreDeps): ConsoleSessionStore {
  const db = deps.db as unknown as Kysely<ConsoleDatabase>
  const { exec, guard, appendAudit } = deps
  return {
    insert: (row, audit) =>
      guard(
        'consoleSessions.insert',
        () =>
          exec.transaction(async (tx) => {
            await changedBy(
              tx,
              db.insertInto('fs_console_sessions').values({
                id: row.id,
                token_hash: row.tokenHash,
                account_id: row.accountId,
                user_id: row.userId,
                authid: row.authid,
                challenge_id: row.challengeId,
                created_at: row.createdAt,
                last_seen_at: row.lastSeenAt,
                authenticated_at: row.authenticatedAt,
                expires_at: row.expiresAt,
                revoked_at: row.revokedAt,
                ip: row.ip,
                user_agent: row.userAgent,
              }),
            )
            await appendAudit(tx, audit)
          }),
        'challengeId',
      ),

    find: (tokenHash, consoleSystem) =>
      guard('consoleSessions.find', async () => {
        // The session, its user as they are now, and whether they are still assigned to the console.
        const [row] = await rowsOf(
          exec,
          db
            .selectFrom('fs_console_sessions as cs')
            .innerJoin('fs_users as u', 'u.id', 'cs.user_id')
            .leftJoin('fs_systems as s', (join) =>
              join.onRef('s.account_id', '=', 'cs.account_id').on('s.name', '=', consoleSystem),
            )
            .leftJoin('fs_assignments as a', (join) =>
              join.onRef('a.user_id', '=', 'u.id').onRef('a.system_id', '=', 's.id'),
            )
            .select(SESSION_COLUMNS.map((column) => `cs.${column}` as const))
            .select([
              'u.status as user_status',
              'u.attributes as user_attributes',
              'a.method as assigned_method',
            ])
            .where('cs.token_hash', '=', tokenHash),
        )
        if (!row) return null
        return {
          session: toSession(row),
          userStatus: row.user_status as 'active' | 'disabled' | 'locked',
          userAttributes: row.user_attributes ? JSON.parse(String(row.user_attributes)) : {},
          assigned: row.assigned_method !== null && row.assigned_method !== undefined,
        }
      }),

    touch: (id, at, minIntervalMs) =>
      guard('consoleSessions.touch', async () => {
        await changedBy(
          exec,
          db
            .updateTable('fs_console_sessions')
            .set({ last_seen_at: at })
            .where('id', '=', id)
            .where('last_seen_at', '<=', at - minIntervalMs),
        )
      }),

    reauthenticate: (id, challengeId, at, audit) =>
      guard(
        'consoleSessions.reauthenticate',
        () =>
          exec.transaction(async (tx) => {
            const moved = await changedBy(
              tx,
              db
                .updateTable('fs_console_sessions')
                .set({ authenticated_at: at, last_seen_at: at, challenge_id: challengeId })
                .where('id', '=', id)
                .where('revoked_at', 'is', null),
            )
            if (moved !== 1) return false
            await appendAudit(tx, audit)
            return true
          }),
        'challengeId',
      ),

    list: (accountId, userId, at) =>
      guard('consoleSessions.list', async () =>
        (
          await rowsOf(
            exec,
            db
              .selectFrom('fs_console_sessions')
              .select(SESSION_COLUMNS)
              .where('account_id', '=', accountId)
              .where('user_id', '=', userId)
              .where('revoked_at', 'is', null)
              .where('expires_at', '>', at)
              .orderBy('created_at', 'desc')
              .orderBy('id')
              .limit(100),
          )
        ).map(toSession),
      ),

    revoke: (accountId, userId, id, at, audit) =>
      guard('consoleSessions.revoke', () =>
        exec.transaction(async (tx) => {
          const moved = await changedBy(
            tx,
            db
              .updateTable('fs_console_sessions')
              .set({ revoked_at: at })
              .where('id', '=', id)
              .where('account_id', '=', accountId)
              .where('user_id', '=', userId)
              .where('revoked_at', 'is', null),
          )
          if (moved !== 1) return false
          await appendAudit(tx, audit)
          return true
        }),
      ),

    sweep: (before, idleBefore) =>
      guard('consoleSessions.sweep', () =>
        changedBy(
          exec,
          db
            .deleteFrom('fs_console_sessions')
            .where((eb) =>
              eb.or([
                eb('revoked_at', '<=', before),
                eb('expires_at', '<=', before),
                eb('last_seen_at', '<=', idleBefore),
              ]),
            ),
        ),
      ),
  }
}
