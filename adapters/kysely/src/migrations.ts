import type { Kysely, Migration } from 'kysely'

/** FlexSecure's schema, in order. A released migration is never edited; changes come as new ones. */
export const migrations: Record<string, Migration> = {
  '0001_init': {
    // biome-ignore lint/suspicious/noExplicitAny: migrations are written against an untyped schema
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('fs_accounts')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('fs_systems')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('account_id', 'varchar(32)', (c) =>
          c.notNull().references('fs_accounts.id').onDelete('cascade'),
        )
        .addColumn('name', 'varchar(256)', (c) => c.notNull())
        .addColumn('policies', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('fs_systems_account_name', ['account_id', 'name'])
        .execute()

      await db.schema
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
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('fs_users_account_authid', ['account_id', 'authid'])
        .execute()

      await db.schema
        .createTable('fs_challenges')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('account_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('system_id', 'varchar(32)', (c) =>
          c.notNull().references('fs_systems.id').onDelete('cascade'),
        )
        .addColumn('user_id', 'varchar(32)', (c) => c.notNull().references('fs_users.id').onDelete('cascade'))
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
        .addColumn('context', 'text')
        .execute()
      await db.schema
        .createIndex('fs_challenges_due')
        .on('fs_challenges')
        .columns(['status', 'expires_at'])
        .execute()
      await db.schema
        .createIndex('fs_challenges_pair')
        .on('fs_challenges')
        .columns(['user_id', 'system_id', 'status'])
        .execute()

      await db.schema
        .createTable('fs_assignments')
        .addColumn('user_id', 'varchar(32)', (c) => c.notNull().references('fs_users.id').onDelete('cascade'))
        .addColumn('system_id', 'varchar(32)', (c) =>
          c.notNull().references('fs_systems.id').onDelete('cascade'),
        )
        .addColumn('method', 'varchar(16)', (c) => c.notNull())
        .addColumn('channel', 'varchar(16)')
        .addColumn('challenge_id', 'varchar(32)')
        .addPrimaryKeyConstraint('fs_assignments_pk', ['user_id', 'system_id'])
        .execute()

      await db.schema
        .createTable('fs_audit_heads')
        .addColumn('account_id', 'varchar(32)', (c) =>
          c.primaryKey().references('fs_accounts.id').onDelete('cascade'),
        )
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .execute()

      await db.schema
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
        .addColumn('user_agent', 'varchar(512)')
        .addColumn('details', 'text')
        .addPrimaryKeyConstraint('fs_audit_events_pk', ['account_id', 'seq'])
        .execute()
    },
  },
}
