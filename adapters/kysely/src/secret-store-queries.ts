import type { SecretStore } from '@flexsecure/core'
import { type Kysely, type Migration, sql } from 'kysely'
import { type ConsoleDialect, dialectOf } from './console-schema.js'
import { changedBy, rowsOf } from './console-session-queries.js'
import { binaryCollation } from './exact-identifiers.js'
import type { Database } from './schema.js'
import type { SqlExecutor } from './sql-executor.js'

// SECURITY.md S33: the engine secret's fingerprint (never the secret), and the sealed outbox payloads a
// rotation re-seals. Off the login path: each statement is compiled when it runs.

/** Engine-wide values by name: `secret_fingerprint` (migration 0010). */
export interface EngineValuesTable {
  name: string
  value: string
}

interface SecretDatabase extends Database {
  fs_engine: EngineValuesTable
}

const FINGERPRINT = 'secret_fingerprint'

/** Migration `0010_engine_secret`: one small table of engine-wide values. */
export const engineSecretMigration: Migration = {
  // biome-ignore lint/suspicious/noExplicitAny: migrations are written against an untyped schema
  async up(db: Kysely<any>) {
    const table = db.schema
      .createTable('fs_engine')
      .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('value', 'varchar(512)', (c) => c.notNull())
    // MySQL: compared byte for byte, like every identifier since 0007_exact_identifiers (S38).
    await (dialectOf(db) === 'mysql'
      ? table.modifyEnd(sql`default character set utf8mb4 collate ${sql.raw(await binaryCollation(db))}`)
      : table
    ).execute()
  },
}

/** SecretStore over the shared storage's executor. */
export function secretStoreQueries(deps: {
  readonly db: Kysely<Database>
  readonly exec: SqlExecutor
  readonly guard: <T>(what: string, work: () => Promise<T>) => Promise<T>
}): SecretStore {
  const db = deps.db as unknown as Kysely<SecretDatabase>
  const { exec, guard } = deps
  const dialect: ConsoleDialect = dialectOf(db)
  return {
    readFingerprint: () =>
      guard('secretStore.readFingerprint', async () => {
        const rows = await rowsOf<{ value: string }>(
          exec,
          db.selectFrom('fs_engine').select('value').where('name', '=', FINGERPRINT),
        )
        return rows[0]?.value ?? null
      }),
    swapFingerprint: (expected, next) =>
      guard('secretStore.swapFingerprint', async () => {
        if (expected !== null)
          return (
            (await changedBy(
              exec,
              db
                .updateTable('fs_engine')
                .set({ value: next })
                .where('name', '=', FINGERPRINT)
                .where('value', '=', expected),
            )) === 1
          )
        const insert = db.insertInto('fs_engine').values({ name: FINGERPRINT, value: next })
        // Two first starts at once: one inserts, the other changes nothing and reads again.
        return (
          (await changedBy(
            exec,
            dialect === 'mysql' ? insert.ignore() : insert.onConflict((oc) => oc.column('name').doNothing()),
          )) === 1
        )
      }),
    sealedPayloads: (afterId, limit) =>
      guard('secretStore.sealedPayloads', async () => {
        let query = db
          .selectFrom('fs_deliveries')
          .select(['id', 'payload'])
          .where('payload', 'is not', null)
          .orderBy('id')
          .limit(limit)
        if (afterId !== null) query = query.where('id', '>', afterId)
        const rows = await rowsOf<{ id: string; payload: string }>(exec, query)
        return rows.map((row) => ({ id: String(row.id), payload: String(row.payload) }))
      }),
    replacePayload: (id, previous, next) =>
      guard(
        'secretStore.replacePayload',
        async () =>
          (await changedBy(
            exec,
            db
              .updateTable('fs_deliveries')
              .set({ payload: next })
              .where('id', '=', id)
              .where('payload', '=', previous),
          )) === 1,
      ),
  }
}
