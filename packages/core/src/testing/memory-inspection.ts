import type { AuditEvent } from '../ports/rows.js'
import type { MemoryTables, Table } from './memory-tables.js'

// A look behind the in-memory storage's port, for tests only: what a test of a SQL storage reads or
// tampers with through its own database connection.

type RowOf<T> = T extends Table<infer Row> ? Row : never

/** The in-memory tables' names. */
export type MemoryTableName = keyof MemoryTables

/** Every table as a list of rows; the audit events of all accounts as one list. */
export type MemoryRows = {
  readonly [K in MemoryTableName]: K extends 'auditEvents' ? AuditEvent[] : RowOf<MemoryTables[K]>[]
}

/** A deep copy of every table. */
export function inspectTables(tables: MemoryTables): MemoryRows {
  const copy = {} as Record<string, unknown[]>
  for (const [name, table] of Object.entries(tables) as [MemoryTableName, Table<unknown>][])
    copy[name] = name === 'auditEvents' ? (table.values() as AuditEvent[][]).flat() : table.values()
  return structuredClone(copy) as MemoryRows
}

/** Replaces each row of a table with `edit(row)`, or deletes it when that is null. Run in a transaction. */
export function tamperTable<T extends MemoryTableName>(
  tables: MemoryTables,
  name: T,
  edit: (row: MemoryRows[T][number]) => MemoryRows[T][number] | null,
): void {
  const change = (row: unknown) => {
    const next = edit(structuredClone(row) as MemoryRows[T][number])
    return next === null ? null : structuredClone(next)
  }
  if (name === 'auditEvents') {
    for (const [accountId, events] of tables.auditEvents.entries())
      tables.auditEvents.set(
        accountId,
        events.map(change).filter((event): event is AuditEvent => event !== null) as AuditEvent[],
      )
    return
  }
  const table = tables[name] as Table<unknown>
  for (const [key, row] of table.entries()) {
    const next = change(row)
    if (next === null) table.delete(key)
    else table.set(key, next)
  }
}
