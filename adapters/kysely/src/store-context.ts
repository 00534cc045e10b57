import {
  type AuditDraft,
  type AuditSealer,
  ConflictError,
  StorageError,
  ValidationError,
} from '@flexsecure/core'
import type { Kysely } from 'kysely'
import type { SqlDialect } from './dialect.js'
import { param } from './prepared-query.js'
import type { Database } from './schema.js'
import type { SqlExecutor } from './sql-executor.js'

// What every store of the shared storage receives: where statements run, the dialect, how failures
// become the port's errors, and the audit chain each change appends to in its own transaction.

/** Ends a transaction with a rollback that is an answer, not an error (see `answering`). */
export class Rollback<T> extends Error {
  constructor(readonly outcome: T) {
    super('rollback')
  }
}

/** Unique-constraint violations, however the database spells them. */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  return (
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === '23505' ||
    code === 'ER_DUP_ENTRY'
  )
}

/** A table that is not there, however the database spells it: the schema was never migrated. */
function isMissingTable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  return (
    code === '42P01' ||
    code === 'ER_NO_SUCH_TABLE' ||
    (code === 'SQLITE_ERROR' && typeof message === 'string' && message.startsWith('no such table'))
  )
}

/** The shared storage's plumbing, before the audit chain exists. */
export interface SqlContext {
  /** Builds queries (each store compiles its hot ones once, at construction). */
  readonly db: Kysely<Database>
  /** Runs them: the storage's connection, or a transaction's. */
  readonly exec: SqlExecutor
  readonly dialect: SqlDialect
  /** Runs `work` and turns driver failures into StorageError, and unique violations into ConflictError. */
  guard<T>(what: string, work: () => Promise<T>, conflictField?: string): Promise<T>
  /** A transaction whose `Rollback` is an answer: rolls back and returns its outcome. */
  answering<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>
  /** The first row of a read, mapped, or null. */
  one<T>(sql: string, parameters: unknown[], map: (row: Record<string, unknown>) => T): Promise<T | null>
  /** The engine's audit sealer; throws StorageError until the engine has given it one. */
  sealer(): AuditSealer
}

/** What each store receives: the plumbing and the audit chain (audit-store.ts). */
export interface StoreContext extends SqlContext {
  /** Appends drafts to their accounts' chains inside the caller's transaction. */
  appendAudit(tx: SqlExecutor, drafts: readonly AuditDraft[]): Promise<void>
  /** Creates a new account's empty chain inside the caller's transaction. */
  openAuditChain(tx: SqlExecutor, accountId: string): Promise<void>
}

export function sqlContext(
  db: Kysely<Database>,
  exec: SqlExecutor,
  dialect: SqlDialect,
  sealer: () => AuditSealer | null,
): SqlContext {
  return {
    db,
    exec,
    dialect,
    async guard(what, work, conflictField) {
      try {
        return await work()
      } catch (error) {
        if (error instanceof ValidationError || error instanceof StorageError) throw error
        if (conflictField && isUniqueViolation(error))
          throw new ConflictError(conflictField, 'is already taken')
        const hint = isMissingTable(error)
          ? ' (no schema yet, or an older one: call engine.migrate() first, or run `flexsecure migrate`)'
          : ''
        throw new StorageError(`${what} failed: ${(error as Error)?.message ?? String(error)}${hint}`, {
          cause: error,
        })
      }
    },
    async answering(work) {
      try {
        return await exec.transaction(work)
      } catch (error) {
        if (error instanceof Rollback) return error.outcome
        throw error
      }
    },
    async one(sqlText, parameters, map) {
      const [row] = await exec.all(sqlText, parameters)
      return row ? map(row) : null
    },
    sealer() {
      const sealing = sealer()
      if (!sealing)
        throw new StorageError('no audit sealer: create an engine on this storage before writing to it')
      return sealing
    },
  }
}

/** An insert's values: every column of `list` bound to the parameter of its name. */
export function columnParams<C extends string>(list: readonly C[]): Record<C, never> {
  return Object.fromEntries(list.map((column) => [column, param(column)])) as Record<C, never>
}
