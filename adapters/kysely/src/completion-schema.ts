import { type Kysely, type Migration, sql } from 'kysely'
import { dialectOf } from './console-schema.js'
import { binaryTextColumns } from './exact-identifiers.js'
import type { Database } from './schema.js'

// Same-device completion (migration 0009): the return URL a login named, on its challenge, and the
// completion codes its confirmed link issued. A code is kept as its SHA-256 only; it lives 60 seconds
// and `runDue` deletes it after that.

/** One completion code (CompletionCodeRow in core). */
export interface CompletionCodesTable {
  code_hash: string
  account_id: string
  challenge_id: string
  system_name: string
  authid: string
  created_at: number
  expires_at: number
  redeemed_at: number | null
}

/** The schema with the completion codes. */
export interface CompletionDatabase extends Database {
  fs_completion_codes: CompletionCodesTable
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against an untyped schema
type AnyDb = Kysely<any>

/** Migration `0009_completion_codes`. */
export const completionMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('fs_challenges').addColumn('return_url', 'varchar(2048)').execute()
    const table = db.schema
      .createTable('fs_completion_codes')
      .addColumn('code_hash', 'char(64)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(32)', (c) =>
        c.notNull().references('fs_accounts.id').onDelete('cascade'),
      )
      // Not a foreign key: a challenge's removal (with its user) must not wait on a 60-second code,
      // and a code whose challenge is gone can never be redeemed (the redeem joins it).
      .addColumn('challenge_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('system_name', 'varchar(256)', (c) => c.notNull())
      .addColumn('authid', 'varchar(256)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('redeemed_at', 'bigint')
    await (dialectOf(db) === 'sqlite' ? table.modifyEnd(sql`without rowid`) : table).execute()
    await db.schema
      .createIndex('fs_completion_codes_expiry')
      .on('fs_completion_codes')
      .column('expires_at')
      .execute()
    // Created after 0007_exact_identifiers: its text compares exactly on MySQL too (S38).
    await binaryTextColumns(db, ['fs_completion_codes'])
  },
}
