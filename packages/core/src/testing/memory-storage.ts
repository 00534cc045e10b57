import { ConflictError, StorageError, ValidationError } from '../domain/errors.js'
import type { AdminQueryStore } from '../ports/admin-query-store.js'
import type { CompletionCodeStore } from '../ports/completion-store.js'
import type { ConsoleSessionStore } from '../ports/console-session-store.js'
import type { SecretStore } from '../ports/secret-store.js'
import type { Storage } from '../ports/storage.js'
import { memoryAccounts } from './memory-accounts.js'
import { memoryApiKeys } from './memory-api-keys.js'
import { memoryAudit } from './memory-audit-store.js'
import { memoryCompletionCodes } from './memory-completion-codes.js'
import { memoryAdminQueries, memoryConsoleSessions } from './memory-console-stores.js'
import { inspectTables, type MemoryRows, type MemoryTableName, tamperTable } from './memory-inspection.js'
import { memoryLogins } from './memory-logins.js'
import { memoryInspector, memoryOutbox } from './memory-outbox.js'
import { memorySecretStore } from './memory-secret-store.js'
import { memorySystems } from './memory-systems.js'
import {
  ConstraintViolation,
  emptyTables,
  type MemoryStoreDeps,
  Rollback,
  type SealerSlot,
  transaction,
} from './memory-tables.js'
import { memoryUsers } from './memory-users.js'

export type { MemoryRows, MemoryTableName } from './memory-inspection.js'

/** The in-memory storage, with its optional console stores and a look behind the port for tests. */
export interface MemoryStorage extends Storage {
  readonly consoleSessions: ConsoleSessionStore
  readonly adminQueries: AdminQueryStore
  readonly secretStore: SecretStore
  readonly completionCodes: CompletionCodeStore
  /** A deep copy of every table, for tests that check what was stored (a secret never is, say). */
  inspect(): MemoryRows
  /**
   * Rewrites a table behind the engine's back (`edit` returns the new row, or null to delete it), as a
   * test that tampers with a database does. Keys stay where they were.
   */
  tamper<T extends MemoryTableName>(
    table: T,
    edit: (row: MemoryRows[T][number]) => MemoryRows[T][number] | null,
  ): void
}

/**
 * A complete `Storage` in process memory: for tests, examples and demos, and as a reference for
 * adapter authors, one file per store (memory-accounts.ts, memory-api-keys.ts, memory-systems.ts,
 * memory-users.ts, memory-logins.ts, memory-outbox.ts, memory-audit-store.ts) over shared tables
 * (memory-tables.ts). Each call is atomic (it reads and writes without yielding, and a failure undoes
 * it), rows are copied in and out, and the audit chain is sealed as the SQL storage seals it. It
 * passes `runStorageConformance` (all but the races across processes) and `runConsoleStoreConformance`.
 *
 * ```ts
 * const engine = createEngine({ storage: memoryStorage(), notifier: captureNotifier(), secret, links })
 * ```
 */
export function memoryStorage(): MemoryStorage {
  const tables = emptyTables()
  const slot: SealerSlot = { sealer: null }
  let closed = false

  /** Runs one call as a transaction, turning failures into the errors a SQL storage throws. */
  async function run<T>(what: string, work: () => T, conflictField?: string): Promise<T> {
    if (closed) throw new StorageError(`${what} failed: the storage is closed`)
    try {
      return transaction(work)
    } catch (error) {
      if (error instanceof Rollback) return error.outcome as T
      if (error instanceof ValidationError || error instanceof StorageError) throw error
      if (conflictField && error instanceof ConstraintViolation && error.kind === 'unique')
        throw new ConflictError(conflictField, 'is already taken')
      throw new StorageError(`${what} failed: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      })
    }
  }
  const deps: MemoryStoreDeps = { tables, slot, run }
  const storage: Storage = {
    migrate: () => run('migrate', () => undefined),
    async close() {
      closed = true
    },
    sealAuditWith(sealer) {
      slot.sealer = sealer
    },

    accounts: memoryAccounts(deps),
    apiKeys: memoryApiKeys(deps),
    systems: memorySystems(deps),
    users: memoryUsers(deps),
    logins: memoryLogins(deps),
    outbox: memoryOutbox(deps),
    audit: memoryAudit(deps),
    inspector: memoryInspector(deps),
  }

  return Object.assign(storage, {
    consoleSessions: memoryConsoleSessions(deps),
    adminQueries: memoryAdminQueries(deps),
    secretStore: memorySecretStore(deps),
    completionCodes: memoryCompletionCodes(deps),
    inspect: () => inspectTables(tables),
    tamper: <T extends MemoryTableName>(
      table: T,
      edit: (row: MemoryRows[T][number]) => MemoryRows[T][number] | null,
    ) => transaction(() => tamperTable(tables, table, edit)),
  })
}
