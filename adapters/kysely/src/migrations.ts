import { type CreateTableBuilder, type Kysely, type Migration, SqliteAdapter, sql } from 'kysely'
import { completionMigration } from './completion-schema.js'
import { consoleMigration } from './console-schema.js'
import { exactIdentifiersMigration } from './exact-identifiers.js'
import { engineSecretMigration } from './secret-store-queries.js'

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against an untyped schema
type AnyDb = Kysely<any>

// The only dialect-specific DDL, kept here: on SQLite, tables keyed by text are WITHOUT ROWID (one
// B-tree instead of a table plus its key index), and the sweep's index holds only live challenges.
// Both cut the pages each login writes, which is where SQLite spends its time (bench/README.md).
const isSqlite = (db: AnyDb) => db.getExecutor().adapter instanceof SqliteAdapter

function keyed<T extends string, C extends string>(
  db: AnyDb,
  table: CreateTableBuilder<T, C>,
): CreateTableBuilder<T, C> {
  return isSqlite(db) ? table.modifyEnd(sql`without rowid`) : table
}

/** FlexSecure's schema, in order. A released migration is never edited; changes come as new ones. */
export const migrations: Record<string, Migration> = {
  '0001_init': {
    async up(db: AnyDb) {
      await keyed(
        db,
        db.schema
          .createTable('fs_accounts')
          .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
          .addColumn('name', 'varchar(200)', (c) => c.notNull())
          .addColumn('settings', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull()),
      ).execute()

      await keyed(
        db,
        db.schema
          .createTable('fs_api_keys')
          .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
          .addColumn('account_id', 'varchar(32)', (c) =>
            c.notNull().references('fs_accounts.id').onDelete('cascade'),
          )
          .addColumn('name', 'varchar(200)', (c) => c.notNull())
          .addColumn('prefix', 'varchar(32)', (c) => c.notNull())
          .addColumn('sha256', 'char(64)', (c) => c.notNull().unique())
          .addColumn('scopes', 'varchar(64)', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint')
          .addColumn('expires_at', 'bigint')
          .addColumn('revoked_at', 'bigint'),
      ).execute()
      await db.schema.createIndex('fs_api_keys_account').on('fs_api_keys').column('account_id').execute()

      await keyed(
        db,
        db.schema
          .createTable('fs_systems')
          .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
          .addColumn('account_id', 'varchar(32)', (c) =>
            c.notNull().references('fs_accounts.id').onDelete('cascade'),
          )
          .addColumn('name', 'varchar(256)', (c) => c.notNull())
          .addColumn('policies', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('fs_systems_account_name', ['account_id', 'name']),
      ).execute()

      await keyed(
        db,
        db.schema
          .createTable('fs_users')
          .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
          .addColumn('account_id', 'varchar(32)', (c) =>
            c.notNull().references('fs_accounts.id').onDelete('cascade'),
          )
          .addColumn('authid', 'varchar(256)', (c) => c.notNull())
          .addColumn('display_name', 'varchar(256)')
          .addColumn('email', 'varchar(254)')
          .addColumn('phone', 'varchar(20)')
          .addColumn('status', 'varchar(16)', (c) => c.notNull())
          .addColumn('failure_streak', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('retry_after', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('fs_users_account_authid', ['account_id', 'authid']),
      ).execute()

      // `challenge_id` is the challenge `check` answers for; `previous_challenge_id` is what the last
      // start replaced, read back in the same transaction to supersede it (see issueChallenge).
      await keyed(
        db,
        db.schema
          .createTable('fs_assignments')
          .addColumn('user_id', 'varchar(32)', (c) =>
            c.notNull().references('fs_users.id').onDelete('cascade'),
          )
          .addColumn('system_id', 'varchar(32)', (c) =>
            c.notNull().references('fs_systems.id').onDelete('cascade'),
          )
          .addColumn('method', 'varchar(16)', (c) => c.notNull())
          .addColumn('channel', 'varchar(16)')
          .addColumn('challenge_id', 'varchar(32)')
          .addColumn('previous_challenge_id', 'varchar(32)')
          .addPrimaryKeyConstraint('fs_assignments_pk', ['user_id', 'system_id']),
      ).execute()

      await keyed(
        db,
        db.schema
          .createTable('fs_challenges')
          .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
          .addColumn('account_id', 'varchar(32)', (c) => c.notNull())
          .addColumn('system_id', 'varchar(32)', (c) =>
            c.notNull().references('fs_systems.id').onDelete('cascade'),
          )
          .addColumn('user_id', 'varchar(32)', (c) =>
            c.notNull().references('fs_users.id').onDelete('cascade'),
          )
          .addColumn('system_name', 'varchar(256)', (c) => c.notNull())
          .addColumn('authid', 'varchar(256)', (c) => c.notNull())
          .addColumn('method', 'varchar(16)', (c) => c.notNull())
          .addColumn('channel', 'varchar(16)', (c) => c.notNull())
          .addColumn('status', 'varchar(16)', (c) => c.notNull())
          .addColumn('link_hash', 'char(64)', (c) => c.unique())
          .addColumn('pin_hash', 'varchar(255)')
          .addColumn('pin_length', 'integer')
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('max_attempts', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('completed_at', 'bigint')
          .addColumn('outcome_reported', 'integer', (c) => c.notNull())
          .addColumn('context', 'text'),
      ).execute()
      // The expiry sweep's index. Where partial indexes exist it holds live challenges only, so it
      // stays small however long the history grows.
      const due = db.schema.createIndex('fs_challenges_due').on('fs_challenges')
      await (isSqlite(db)
        ? due.column('expires_at').where(sql.ref('status'), 'in', ['pending', 'confirmed'])
        : due.columns(['status', 'expires_at'])
      ).execute()

      // Fixed-window counters for send limits: one row per (limit, subject), restarted when it ends.
      await keyed(
        db,
        db.schema
          .createTable('fs_rate_limits')
          .addColumn('key', 'varchar(200)', (c) => c.primaryKey())
          .addColumn('window_end', 'bigint', (c) => c.notNull())
          .addColumn('count', 'integer', (c) => c.notNull()),
      ).execute()

      // The HMAC chain (docs/security.md S27): each event's MAC covers it and the previous MAC; the head
      // keeps the last sequence number and MAC and, after a purge, the anchor the chain resumes from.
      await keyed(
        db,
        db.schema
          .createTable('fs_audit_heads')
          .addColumn('account_id', 'varchar(32)', (c) =>
            c.primaryKey().references('fs_accounts.id').onDelete('cascade'),
          )
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('mac', 'char(64)')
          .addColumn('anchor_seq', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('anchor_mac', 'char(64)')
          .addColumn('head_mac', 'char(64)', (c) => c.notNull()),
      ).execute()

      await keyed(
        db,
        db.schema
          .createTable('fs_audit_events')
          .addColumn('account_id', 'varchar(32)', (c) => c.notNull())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('type', 'varchar(64)', (c) => c.notNull())
          .addColumn('actor', 'varchar(64)', (c) => c.notNull())
          .addColumn('system', 'varchar(256)')
          .addColumn('authid', 'varchar(256)')
          .addColumn('challenge_id', 'varchar(32)')
          .addColumn('outcome', 'varchar(32)', (c) => c.notNull())
          .addColumn('reason', 'varchar(32)')
          .addColumn('ip', 'varchar(64)')
          .addColumn('user_agent', 'varchar(1024)')
          .addColumn('details', 'text')
          .addColumn('prev_mac', 'char(64)')
          .addColumn('mac', 'char(64)', (c) => c.notNull())
          .addPrimaryKeyConstraint('fs_audit_events_pk', ['account_id', 'seq']),
      ).execute()
    },
  },
  '0002_system_return_url': {
    async up(db: AnyDb) {
      // Where the link's outcome page sends the user back to; https on an origin the account allows.
      await db.schema.alterTable('fs_systems').addColumn('return_url', 'varchar(2048)').execute()
    },
  },
  '0003_outbox_and_messages': {
    async up(db: AnyDb) {
      await db.schema.alterTable('fs_systems').addColumn('messages', 'text').execute()
      await db.schema.alterTable('fs_users').addColumn('locale', 'varchar(35)').execute()
      // The delivery whose status `check` reports (joined by key), so a send never rewrites its challenge.
      await db.schema.alterTable('fs_challenges').addColumn('delivery_id', 'varchar(32)').execute()

      // The outbox. `attempts` doubles as the claim's fence; `claimed_until` lets a dead claim lapse.
      await keyed(
        db,
        db.schema
          .createTable('fs_deliveries')
          .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
          .addColumn('account_id', 'varchar(32)', (c) => c.notNull())
          .addColumn('challenge_id', 'varchar(32)', (c) =>
            c.notNull().references('fs_challenges.id').onDelete('cascade'),
          )
          .addColumn('channel', 'varchar(16)', (c) => c.notNull())
          .addColumn('destination', 'varchar(64)', (c) => c.notNull())
          .addColumn('status', 'varchar(16)', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
          .addColumn('claimed_until', 'bigint')
          .addColumn('provider_id', 'varchar(256)')
          .addColumn('last_error', 'varchar(512)')
          .addColumn('payload', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('fallback_of', 'varchar(32)'),
      ).execute()
      await db.schema
        .createIndex('fs_deliveries_challenge')
        .on('fs_deliveries')
        .column('challenge_id')
        .execute()
      // The dispatcher's index: where partial indexes exist, only unfinished deliveries.
      const due = db.schema.createIndex('fs_deliveries_due').on('fs_deliveries')
      await (isSqlite(db)
        ? due.column('next_attempt_at').where(sql.ref('status'), 'in', ['queued', 'failed'])
        : due.columns(['status', 'next_attempt_at'])
      ).execute()
    },
  },
  '0004_adaptive_policy': {
    async up(db: AnyDb) {
      await db.schema.alterTable('fs_systems').addColumn('sensitivity', 'varchar(8)').execute()
      await db.schema.alterTable('fs_systems').addColumn('rules', 'text').execute()
      await db.schema.alterTable('fs_users').addColumn('attributes', 'text').execute()
      await db.schema.alterTable('fs_users').addColumn('memorized_pin_hash', 'varchar(255)').execute()
      await db.schema.alterTable('fs_challenges').addColumn('extra_layer', 'varchar(16)').execute()
      await db.schema.alterTable('fs_challenges').addColumn('match_code', 'varchar(8)').execute()
      await db.schema.alterTable('fs_challenges').addColumn('device', 'varchar(64)').execute()
      // A user's authenticated logins, for rules on the last success and on devices seen before.
      const history = db.schema.createIndex('fs_challenges_success').on('fs_challenges')
      await (isSqlite(db)
        ? history.columns(['user_id', 'device']).where(sql.ref('status'), '=', 'authenticated')
        : history.columns(['user_id', 'status', 'device'])
      ).execute()
    },
  },
  '0005_rules_version': {
    async up(db: AnyDb) {
      // The rules' version beside their JSON, so the login's joined read carries a number, not the
      // rules (kilobytes that spill into overflow pages); the rules are read once per version.
      await db.schema.alterTable('fs_systems').addColumn('rules_version', 'integer').execute()
      const rows = await db
        .selectFrom('fs_systems')
        .select(['id', 'rules'])
        .where('rules', 'is not', null)
        .execute()
      for (const row of rows as { id: string; rules: string }[])
        await db
          .updateTable('fs_systems')
          .set({ rules_version: Number(JSON.parse(row.rules)?.version ?? 0) })
          .where('id', '=', row.id)
          .execute()
    },
  },
  '0006_console': consoleMigration,
  '0007_exact_identifiers': exactIdentifiersMigration,
  '0008_challenge_retention': {
    async up(db: AnyDb) {
      // S35's purge of ended challenges reads them by expiry. PostgreSQL and MySQL use the sweep's
      // (status, expires_at) index; SQLite's holds live challenges only, so it gets its own. One more
      // index entry per challenge, written once when it is inserted (expires_at never changes).
      if (isSqlite(db))
        await db.schema.createIndex('fs_challenges_expiry').on('fs_challenges').column('expires_at').execute()
    },
  },
  '0009_completion_codes': completionMigration,
  '0010_engine_secret': engineSecretMigration,
}
