import type { UserStatus } from '../domain/model.js'
import type { AuditDraft, AuditEvent, AuditQuery, AuditVerdict, DeliveryRow, UserRow } from './rows.js'

// An optional ability of a Storage: what administrators' screens and the admin API read beyond the
// core operations (user search, the outbox, login counts, the newest audit events), and the few
// writes that serve them. None of it is on the login path, and none of it costs the login path a
// write. Times are epoch milliseconds.

/** The user fields a search can match the start of. */
export type UserSearchField = 'authid' | 'displayName' | 'email' | 'phone'

/** One page of a user search (`searchUsers`). */
export interface UserSearchQuery {
  readonly accountId: string
  readonly field: UserSearchField
  /** Users whose `field` starts with this (as the database compares text); empty for any. */
  readonly prefix: string
  readonly status?: UserStatus
  /** Keyset cursor: the last row of the previous page (its `field` value and id). */
  readonly after?: { readonly value: string; readonly id: string }
  readonly limit: number
}

/** Which part of the outbox to list: waiting (queued, or failed and due for a retry) or abandoned. */
export type DeliveryQueue = 'waiting' | 'abandoned'

/** One page of the outbox (`listDeliveries`). */
export interface DeliveryListQuery {
  readonly accountId: string
  readonly queue: DeliveryQueue
  /**
   * Keyset cursor: the last row of the previous page, by the time the list is ordered on (waiting:
   * `nextAttemptAt`, soonest first; abandoned: `updatedAt`, newest first) and its id.
   */
  readonly after?: { readonly at: number; readonly id: string }
  readonly limit: number
}

/** A delivery as listed: never its payload; with the system and user of its challenge. */
export interface DeliveryListing extends Omit<DeliveryRow, 'payload'> {
  readonly system: string | null
  readonly authid: string | null
}

/** Logins of one system in one hour (hours since the epoch, UTC). */
export interface LoginCount {
  readonly hour: number
  readonly system: string
  readonly succeeded: number
  readonly failed: number
}

/** The newest audit events of a window of sequence numbers, with `listAudit`'s filters. */
export interface NewestAuditQuery extends Omit<AuditQuery, 'after'> {
  /** Events with `seq < below` and `seq >= atLeast`: a bounded window, read newest first. */
  readonly below: number
  readonly atLeast: number
}

/** What the console keeps per account: how far login counts have read the trail, the last verification. */
export interface AdminState {
  /** Audit events up to this sequence number are counted in the login counts. */
  readonly countedSeq: number
  readonly verifiedAt: number | null
  readonly verdict: AuditVerdict | null
}

/** Implemented by `@flexsecure/kysely`; checked by `runConsoleStoreConformance`. */
export interface AdminQueryStore {
  /** One page of users whose `field` starts with `prefix`, ordered by that field then id. */
  searchUsers(query: UserSearchQuery): Promise<UserRow[]>
  /** How many of the account's users have this status. */
  countUsers(accountId: string, status: UserStatus): Promise<number>
  /** Waiting deliveries by next attempt, or abandoned ones newest first; one page. */
  listDeliveries(query: DeliveryListQuery): Promise<DeliveryListing[]>
  /** Counts of waiting deliveries, and of deliveries abandoned at or after `since`. */
  countDeliveries(accountId: string, since: number): Promise<{ waiting: number; abandoned: number }>
  /**
   * Makes a waiting delivery due at `at` (its payload still there, its challenge not expired, no live
   * claim on it), with `audit`. False when it is not the account's, final, claimed or expired.
   */
  requeueDelivery(accountId: string, id: string, at: number, audit: readonly AuditDraft[]): Promise<boolean>
  /** Challenges of the account still pending or confirmed and not expired at `at`. */
  countLiveChallenges(accountId: string, at: number): Promise<number>
  /** Events of a window of sequence numbers, newest first (see the query). */
  newestAudit(query: NewestAuditQuery): Promise<AuditEvent[]>
  /** The first event at or after `seq`, with its time: lets a time be turned into a sequence number. */
  auditAtOrAfter(accountId: string, seq: number): Promise<{ seq: number; at: number } | null>
  /** The account's console state (nothing counted and nothing verified yet: `countedSeq` 0). */
  adminState(accountId: string): Promise<AdminState>
  /**
   * Adds `counts` to the login counts and moves `countedSeq` from `fromSeq` to `toSeq`, in one
   * transaction; false (and nothing changed) when `countedSeq` is no longer `fromSeq`, because another
   * process counted those events first.
   */
  addLoginCounts(
    accountId: string,
    fromSeq: number,
    toSeq: number,
    counts: readonly LoginCount[],
  ): Promise<boolean>
  /** Login counts of hours in `[fromHour, toHour)`. */
  loginCounts(accountId: string, fromHour: number, toHour: number): Promise<LoginCount[]>
  /** Keeps the result of the latest audit chain verification. */
  recordVerdict(accountId: string, at: number, verdict: AuditVerdict): Promise<void>
}
