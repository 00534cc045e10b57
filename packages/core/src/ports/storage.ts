import type { AccountStore, ApiKeyStore } from './account-store.js'
import type { AdminQueryStore } from './admin-query-store.js'
import type { AuditStore } from './audit-store.js'
import type { CompletionCodeStore } from './completion-store.js'
import type { ConsoleSessionStore } from './console-session-store.js'
import type { SystemStore, UserStore } from './directory-store.js'
import type { LoginStore } from './login-store.js'
import type { OutboxStore } from './outbox-store.js'
import type { AuditSealer, DeliveryRow } from './rows.js'
import type { SecretStore } from './secret-store.js'

export type { DeliveryState } from '../domain/model.js'
export type { AccountStore, ApiKeyStore } from './account-store.js'
export type { AuditStore } from './audit-store.js'
export type { SystemStore, UserStore } from './directory-store.js'
export type { FailureToCount, LoginStore, PinAcceptance, PinRejection, PinVerdict } from './login-store.js'
export type { OutboxStore } from './outbox-store.js'
export type * from './rows.js'

/**
 * The persistence port: a few stores over one database, so that what must be atomic across them (a
 * start writes the challenge, its deliveries, its send limits and its audit events) is one transaction.
 * Audit drafts passed to a write are written in that write's transaction. Failures throw
 * `StorageError`; a failed operation leaves nothing behind. Every write takes its time from its
 * arguments (an `at`, a row's `updatedAt`), never from the clock or from the audit drafts.
 *
 * The required stores are what the engine cannot run without; the optional ones are abilities (the
 * console, same-device completion, admin lists, secret rotation) that an adapter may leave out.
 * `runStorageConformance` checks every store, or one at a time (`@flexsecure/core/conformance`).
 */
export interface Storage {
  /** Creates or upgrades the schema. Safe to call from several processes at once. */
  migrate(): Promise<void>
  close(): Promise<void>
  /**
   * Gives the storage the engine's audit sealer; the engine calls it once when it is created. Stores
   * pass it to core's `sealAuditDrafts`. Appending an audit event before this throws StorageError.
   */
  sealAuditWith(sealer: AuditSealer): void

  readonly accounts: AccountStore
  readonly apiKeys: ApiKeyStore
  readonly systems: SystemStore
  readonly users: UserStore
  readonly logins: LoginStore
  readonly outbox: OutboxStore
  readonly audit: AuditStore

  /** Optional: the console's sessions. Without it a storage works, but cannot host the console. */
  readonly consoleSessions?: ConsoleSessionStore
  /** Optional: same-device completion codes. Without it, links complete on the original device only. */
  readonly completionCodes?: CompletionCodeStore
  /** Optional: user search, the outbox list, login counts, the newest audit events (admin screens and API). */
  readonly adminQueries?: AdminQueryStore
  /** Optional: the engine secret's fingerprint and the payloads a rotation re-seals (S33). */
  readonly secretStore?: SecretStore
  /** Optional: reads only tests need. The conformance suite uses it when present. */
  readonly inspector?: StorageInspector
}

/** Reads no engine path makes; tests use them to look at what a write left behind. */
export interface StorageInspector {
  /** A challenge's deliveries, oldest first. */
  listDeliveries(challengeId: string): Promise<DeliveryRow[]>
}
