import type { AccountSettings } from '../domain/settings.js'
import type { LoginCount } from '../ports/admin-query-store.js'
import type { CompletionCodeRow } from '../ports/completion-store.js'
import type { ConsoleSessionRow } from '../ports/console-session-store.js'
import type {
  ApiKeyRow,
  AssignmentRow,
  AuditEvent,
  AuditHead,
  AuditSealer,
  AuditVerdict,
  ChallengeRow,
  DeliveryRow,
  SystemRow,
  UserRow,
} from '../ports/rows.js'

// The in-memory storage's tables and its one kind of transaction. Every storage call runs its reads
// and writes synchronously inside `transaction`, so no other call can interleave (atomic as a SQL
// transaction is), and a throw undoes every write the call made (nothing is left behind). Stored rows
// are never changed in place: a write replaces the row, which is what makes undo a pointer swap.

/** A challenge as stored: where its delivery stands is read from the delivery, never stored on it. */
export type StoredChallenge = Omit<ChallengeRow, 'delivery'>

/** An assignment as stored: it remembers the challenge it pointed at before the last start. */
export interface StoredAssignment extends AssignmentRow {
  readonly previousChallengeId: string | null
}

/** One send-limit window (`fs_rate_limits`). */
export interface LimitWindow {
  readonly key: string
  readonly count: number
  readonly windowEnd: number
}

/** What the console keeps per account (`fs_admin_state`). */
export interface StoredAdminState {
  readonly accountId: string
  readonly countedSeq: number
  readonly verifiedAt: number | null
  readonly verdict: AuditVerdict | null
}

/** An account's audit head as stored, with the account it belongs to. */
export interface StoredHead extends AuditHead {
  readonly accountId: string
}

/** The storage's tables; each maps a row's key to the row as stored. */
export interface MemoryTables {
  readonly accounts: Table<{ id: string; name: string; settings: AccountSettings; createdAt: number }>
  readonly apiKeys: Table<ApiKeyRow>
  readonly systems: Table<SystemRow>
  readonly users: Table<UserRow>
  /** Keyed by `assignmentKey(userId, systemId)`. */
  readonly assignments: Table<StoredAssignment>
  readonly challenges: Table<StoredChallenge>
  readonly deliveries: Table<DeliveryRow>
  readonly rateLimits: Table<LimitWindow>
  readonly auditHeads: Table<StoredHead>
  /** Each account's events in ascending sequence, by account id. The arrays are replaced, never edited. */
  readonly auditEvents: Table<readonly AuditEvent[]>
  readonly consoleSessions: Table<ConsoleSessionRow>
  /** Engine-wide values by name (`fs_engine`): the secret's fingerprint. */
  readonly engineValues: Table<{ readonly name: string; readonly value: string }>
  /** Same-device completion codes, by their hash. */
  readonly completionCodes: Table<CompletionCodeRow>
  readonly adminState: Table<StoredAdminState>
  /** Keyed by `countKey(accountId, hour, system)`. */
  readonly loginCounts: Table<LoginCount & { readonly accountId: string }>
}

/** The sealer handed to `sealAuditWith`; appending before one is set is a StorageError. */
export interface SealerSlot {
  sealer: AuditSealer | null
}

/** What every store of the in-memory storage shares: the tables, the audit sealer, and transactions. */
export interface MemoryStoreDeps {
  readonly tables: MemoryTables
  readonly slot: SealerSlot
  /** Runs one call as a transaction, turning failures into the errors a SQL storage throws. */
  run<T>(what: string, work: () => T, conflictField?: string): Promise<T>
}

/** Undo steps of the running transaction, newest last; null outside one. */
let journal: (() => void)[] | null = null

/** A keyed table whose writes are undone when the transaction that made them throws. */
export class Table<Row> {
  private readonly rows = new Map<string, Row>()

  get(key: string): Row | undefined {
    return this.rows.get(key)
  }

  has(key: string): boolean {
    return this.rows.has(key)
  }

  /** Every key and row, in insertion order. */
  entries(): [string, Row][] {
    return [...this.rows.entries()]
  }

  /** Every row, in insertion order. */
  values(): Row[] {
    return [...this.rows.values()]
  }

  get size(): number {
    return this.rows.size
  }

  set(key: string, row: Row): void {
    const had = this.rows.has(key)
    const before = this.rows.get(key)
    journal?.push(() => {
      if (had) this.rows.set(key, before as Row)
      else this.rows.delete(key)
    })
    this.rows.set(key, row)
  }

  delete(key: string): boolean {
    if (!this.rows.has(key)) return false
    const before = this.rows.get(key) as Row
    journal?.push(() => this.rows.set(key, before))
    this.rows.delete(key)
    return true
  }
}

/** Fresh, empty tables. */
export function emptyTables(): MemoryTables {
  return {
    accounts: new Table(),
    apiKeys: new Table(),
    systems: new Table(),
    users: new Table(),
    assignments: new Table(),
    challenges: new Table(),
    deliveries: new Table(),
    rateLimits: new Table(),
    auditHeads: new Table(),
    auditEvents: new Table(),
    consoleSessions: new Table(),
    engineValues: new Table(),
    completionCodes: new Table(),
    adminState: new Table(),
    loginCounts: new Table(),
  }
}

/**
 * Runs `work` as one transaction: synchronously (nothing else runs meanwhile) and all or nothing
 * (a throw undoes its writes, then propagates).
 */
export function transaction<T>(work: () => T): T {
  if (journal) return work()
  journal = []
  const undo = journal
  try {
    const result = work()
    journal = null
    return result
  } catch (error) {
    journal = null
    for (let i = undo.length - 1; i >= 0; i--) undo[i]?.()
    throw error
  }
}

/** Ends a transaction with an answer after undoing its writes: a rollback that is not an error. */
export class Rollback<T> extends Error {
  constructor(readonly outcome: T) {
    super('rollback')
  }
}

/** Deletes a challenge with its deliveries (the SQL schema's cascade). */
export function deleteChallenge(tables: MemoryTables, id: string): void {
  for (const delivery of tables.deliveries.values())
    if (delivery.challengeId === id) tables.deliveries.delete(delivery.id)
  tables.challenges.delete(id)
}

/** A unique or foreign key the write would break: what a SQL database refuses as a constraint violation. */
export class ConstraintViolation extends Error {
  constructor(
    readonly kind: 'unique' | 'foreign key',
    message: string,
  ) {
    super(`${kind} constraint: ${message}`)
  }
}

/** Refuses a write that would break a unique key. */
export function unique(taken: boolean, what: string): void {
  if (taken) throw new ConstraintViolation('unique', what)
}

/** Refuses a write that names a row that does not exist. */
export function references(exists: boolean, what: string): void {
  if (!exists) throw new ConstraintViolation('foreign key', what)
}

export const assignmentKey = (userId: string, systemId: string) => `${userId}\u0000${systemId}`
export const countKey = (accountId: string, hour: number, system: string) =>
  `${accountId}\u0000${hour}\u0000${system}`

/** A copy of JSON data as it reads back from its text, as a SQL column would return it. */
export function jsonCopy<T>(value: T): T {
  return value === null || value === undefined ? value : JSON.parse(JSON.stringify(value))
}

/** Orders text by code points, as SQLite and PostgreSQL's "C" collation do (not by UTF-16 units). */
export function compareText(a: string, b: string): number {
  if (a === b) return 0
  const left = a[Symbol.iterator]()
  const right = b[Symbol.iterator]()
  for (;;) {
    const x = left.next()
    const y = right.next()
    if (x.done) return y.done ? 0 : -1
    if (y.done) return 1
    const difference = (x.value.codePointAt(0) as number) - (y.value.codePointAt(0) as number)
    if (difference !== 0) return difference
  }
}
