import { type Kysely, type Migration, MysqlAdapter, sql } from 'kysely'
import { FLEXSECURE_TABLES } from './schema.js'

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against an untyped schema
type AnyDb = Kysely<any>

/**
 * The binary collation this MySQL-family server offers that also counts trailing spaces (NO PAD):
 * MySQL 8's `utf8mb4_0900_bin`, MariaDB's `utf8mb4_nopad_bin`; `utf8mb4_bin` (PAD SPACE) only as a
 * last resort on servers older than both.
 */
export async function binaryCollation(db: AnyDb): Promise<string> {
  const { rows } = await sql<{ name: string }>`
    select collation_name as name from information_schema.collations
    where collation_name in ('utf8mb4_0900_bin', 'utf8mb4_nopad_bin')`.execute(db)
  const names = new Set(rows.map((row) => row.name))
  return names.has('utf8mb4_0900_bin')
    ? 'utf8mb4_0900_bin'
    : names.has('utf8mb4_nopad_bin')
      ? 'utf8mb4_nopad_bin'
      : 'utf8mb4_bin'
}

/**
 * Migration `0007_exact_identifiers` (S38): on MySQL and MariaDB, every FlexSecure text column in a
 * binary, no-pad collation. Their default collations (`utf8mb4_general_ci`, `utf8mb4_0900_ai_ci`)
 * compare case- and accent-insensitively and ignore trailing spaces, so `ALICE`, `Alice ` and `ÁLICE`
 * all found alice's user, challenge and audit events. SQLite and PostgreSQL already compare `=`
 * exactly; nothing changes there. Columns in a foreign key (ids the engine generates) keep theirs:
 * MariaDB refuses to change them even with foreign key checks off. Each table's default collation
 * changes too, so a column a later migration adds is binary as well.
 */
export const exactIdentifiersMigration: Migration = {
  async up(db: AnyDb) {
    await binaryTextColumns(db, FLEXSECURE_TABLES)
  },
}

/**
 * On MySQL and MariaDB, gives the text columns of those of `tables` that exist a binary, no-pad
 * collation (and each table's default too); nothing elsewhere. A migration that creates a table after
 * `0007_exact_identifiers` calls it for its own.
 */
export async function binaryTextColumns(db: AnyDb, tables: readonly string[]): Promise<void> {
  if (!(db.getExecutor().adapter instanceof MysqlAdapter)) return
  const collation = await binaryCollation(db)
  const existing = await sql<{ name: string }>`
      select table_name as name from information_schema.tables
      where table_schema = database() and table_name in (${sql.join([...tables])})`.execute(db)
  const present = new Set(existing.rows.map((row) => row.name))
  const { rows } = await sql<{
    table_name: string
    column_name: string
    column_type: string
    is_nullable: string
  }>`
      select c.table_name as table_name, c.column_name as column_name, c.column_type as column_type,
             c.is_nullable as is_nullable
      from information_schema.columns c
      where c.table_schema = database()
        and c.table_name in (${sql.join([...tables])})
        and c.collation_name is not null and c.collation_name <> ${collation}
        and not exists (
          select 1 from information_schema.key_column_usage k
          where k.table_schema = c.table_schema and k.referenced_table_name is not null
            and ((k.table_name = c.table_name and k.column_name = c.column_name)
              or (k.referenced_table_name = c.table_name and k.referenced_column_name = c.column_name)))
      order by c.table_name, c.ordinal_position`.execute(db)
  for (const table of tables) {
    if (!present.has(table)) continue
    const changes = rows
      .filter((row) => row.table_name === table)
      .map(
        (row) =>
          sql`modify ${sql.ref(row.column_name)} ${sql.raw(row.column_type)} character set utf8mb4 collate ${sql.raw(collation)} ${sql.raw(row.is_nullable === 'NO' ? 'not null' : 'null')}`,
      )
    await sql`alter table ${sql.table(table)} ${sql.join([sql`default character set utf8mb4 collate ${sql.raw(collation)}`, ...changes])}`.execute(
      db,
    )
  }
}
