import {
  type CreateTableBuilder,
  type Kysely,
  type Migration,
  MysqlAdapter,
  PostgresAdapter,
  SqliteAdapter,
  sql,
} from 'kysely'
import type { Database } from './schema.js'

// The administration console's tables and indexes (migration 0006). They add to the schema without
// changing a table the login path writes: console sessions, login counts read from the audit trail
// after the fact, the console's state per account, and indexes for user search and the abandoned
// part of the outbox. What each index costs a login is written beside it.

/** The console's server-side sessions: a token's SHA-256, never the token. */
export interface ConsoleSessionsTable {
  id: string
  token_hash: string
  account_id: string
  user_id: string
  authid: string
  challenge_id: string
  created_at: number
  last_seen_at: number
  authenticated_at: number
  expires_at: number
  revoked_at: number | null
  ip: string | null
  user_agent: string | null
}

/** Logins per account, hour (since the epoch, UTC) and system, counted from the audit trail. */
export interface LoginCountsTable {
  account_id: string
  hour: number
  system: string
  succeeded: number
  failed: number
}

/** Per account: how far the login counts have read the trail, and the latest chain verification. */
export interface AdminStateTable {
  account_id: string
  counted_seq: number
  verified_at: number | null
  verified_ok: number | null
  verified_seq: number | null
  verified_events: number | null
  verified_problem: string | null
}

/** The schema with the console's tables. */
export interface ConsoleDatabase extends Database {
  fs_console_sessions: ConsoleSessionsTable
  fs_login_counts: LoginCountsTable
  fs_admin_state: AdminStateTable
}

/** The console's tables, children first (for resets in tests). */
export const CONSOLE_TABLES = ['fs_console_sessions', 'fs_login_counts', 'fs_admin_state'] as const

/** The SQL dialect a Kysely instance speaks, where the console's SQL differs. */
export type ConsoleDialect = 'sqlite' | 'postgres' | 'mysql'

/** Which of the three dialects a Kysely instance speaks (by its adapter). */
// biome-ignore lint/suspicious/noExplicitAny: migrations are written against an untyped schema
export function dialectOf(db: Kysely<any>): ConsoleDialect {
  const adapter = db.getExecutor().adapter
  if (adapter instanceof SqliteAdapter) return 'sqlite'
  if (adapter instanceof PostgresAdapter) return 'postgres'
  if (adapter instanceof MysqlAdapter) return 'mysql'
  // Another dialect: standard SQL as PostgreSQL writes it, minus its collation clause.
  return 'postgres'
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against an untyped schema
type AnyDb = Kysely<any>

function keyed<T extends string, C extends string>(
  db: AnyDb,
  table: CreateTableBuilder<T, C>,
): CreateTableBuilder<T, C> {
  return dialectOf(db) === 'sqlite' ? table.modifyEnd(sql`without rowid`) : table
}

/** Migration `0006_console`. */
export const consoleMigration: Migration = {
  async up(db: AnyDb) {
    const dialect = dialectOf(db)
    await keyed(
      db,
      db.schema
        .createTable('fs_console_sessions')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('token_hash', 'char(64)', (c) => c.notNull().unique())
        .addColumn('account_id', 'varchar(32)', (c) =>
          c.notNull().references('fs_accounts.id').onDelete('cascade'),
        )
        .addColumn('user_id', 'varchar(32)', (c) => c.notNull().references('fs_users.id').onDelete('cascade'))
        .addColumn('authid', 'varchar(256)', (c) => c.notNull())
        // One login backs at most one session (or one re-authentication).
        .addColumn('challenge_id', 'varchar(32)', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('authenticated_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('ip', 'varchar(64)')
        .addColumn('user_agent', 'varchar(1024)'),
    ).execute()
    await db.schema
      .createIndex('fs_console_sessions_user')
      .on('fs_console_sessions')
      .column('user_id')
      .execute()

    await keyed(
      db,
      db.schema
        .createTable('fs_login_counts')
        .addColumn('account_id', 'varchar(32)', (c) =>
          c.notNull().references('fs_accounts.id').onDelete('cascade'),
        )
        .addColumn('hour', 'bigint', (c) => c.notNull())
        .addColumn('system', 'varchar(256)', (c) => c.notNull())
        .addColumn('succeeded', 'integer', (c) => c.notNull())
        .addColumn('failed', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('fs_login_counts_pk', ['account_id', 'hour', 'system']),
    ).execute()

    await keyed(
      db,
      db.schema
        .createTable('fs_admin_state')
        .addColumn('account_id', 'varchar(32)', (c) =>
          c.primaryKey().references('fs_accounts.id').onDelete('cascade'),
        )
        .addColumn('counted_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('verified_at', 'bigint')
        .addColumn('verified_ok', 'integer')
        .addColumn('verified_seq', 'bigint')
        .addColumn('verified_events', 'bigint')
        .addColumn('verified_problem', 'varchar(512)'),
    ).execute()

    // User search: a range scan on (account, field, id) per field, so a page costs its rows whatever
    // the number of users. A login writes a user row only on a failure (the streak, the delay, the
    // lock) or on the success after one (the reset), and only the lock changes an indexed column
    // (status): a successful login writes none of these indexes. PostgreSQL compares in the "C"
    // collation, where a prefix is a byte range whatever the database's own collation.
    const userIndexes: [string, string, string][] = [
      ['fs_users_search_name', 'display_name', 'id'],
      ['fs_users_search_email', 'email', 'id'],
      ['fs_users_search_phone', 'phone', 'id'],
      ['fs_users_by_status', 'status', 'authid'],
    ]
    if (dialect === 'postgres') {
      // The authid's unique index uses the database's collation; search needs the byte order.
      userIndexes.push(['fs_users_search_authid', 'authid', 'id'])
      for (const [name, column, then] of userIndexes)
        await sql`create index ${sql.id(name)} on fs_users (account_id, ${sql.id(column)} collate "C", ${sql.id(then)}${then === 'authid' ? sql` collate "C"` : sql``})`.execute(
          db,
        )
    } else {
      for (const [name, column, then] of userIndexes)
        await db.schema.createIndex(name).on('fs_users').columns(['account_id', column, then]).execute()
    }

    // The outbox's abandoned messages, newest first per account. Where partial indexes exist it holds
    // abandoned rows only, so a login (whose message is sent) never writes it. MySQL has no partial
    // index: there each delivery's insert and its status change write this index too (two entries).
    const abandoned = db.schema.createIndex('fs_deliveries_abandoned').on('fs_deliveries')
    await (dialect === 'mysql'
      ? abandoned.columns(['account_id', 'status', 'updated_at', 'id'])
      : abandoned.columns(['account_id', 'updated_at', 'id']).where(sql.ref('status'), '=', 'abandoned')
    ).execute()
  },
}
