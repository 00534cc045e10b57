import type { DeliveryState } from '../domain/model.js'
import { resolveSettings } from '../policy/account-settings.js'
import type {
  AccountRow,
  ApiKeyRow,
  AssignmentRow,
  ChallengeRow,
  DeliveryRow,
  DeliveryStatus,
  SystemRow,
  UserRow,
} from '../ports/rows.js'
import { jsonCopy, type MemoryTables, type StoredAssignment, type StoredChallenge } from './memory-tables.js'

// Rows in and out of the in-memory storage: in, only the columns a SQL table has, JSON columns as they
// would read back from their text; out, a deep copy, so no caller ever holds a stored object.

export const accountIn = (row: AccountRow) => ({
  id: row.id,
  name: row.name,
  settings: jsonCopy(row.settings),
  createdAt: row.createdAt,
})

/** Settings are stored as given and resolved on read, as the SQL storage does. */
export const accountOut = (row: ReturnType<typeof accountIn>): AccountRow => ({
  ...structuredClone(row),
  settings: resolveSettings(jsonCopy(row.settings) ?? undefined),
})

export const apiKeyIn = (row: ApiKeyRow): ApiKeyRow => ({
  id: row.id,
  accountId: row.accountId,
  name: row.name,
  prefix: row.prefix,
  sha256: row.sha256,
  scopes: [...row.scopes],
  createdAt: row.createdAt,
  lastUsedAt: row.lastUsedAt ?? null,
  expiresAt: row.expiresAt ?? null,
  revokedAt: row.revokedAt ?? null,
})

export const systemIn = (row: SystemRow): SystemRow => ({
  id: row.id,
  accountId: row.accountId,
  name: row.name,
  policies: jsonCopy(row.policies),
  returnUrl: row.returnUrl ?? null,
  messages: jsonCopy(row.messages ?? null),
  sensitivity: row.sensitivity ?? 'medium',
  rules: jsonCopy(row.rules),
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
})

export const userIn = (row: UserRow): UserRow => ({
  id: row.id,
  accountId: row.accountId,
  authid: row.authid,
  displayName: row.displayName ?? null,
  email: row.email ?? null,
  phone: row.phone ?? null,
  locale: row.locale ?? null,
  attributes: jsonCopy(row.attributes ?? {}),
  memorizedPinHash: row.memorizedPinHash ?? null,
  status: row.status,
  failureStreak: row.failureStreak ?? 0,
  retryAfter: row.retryAfter ?? null,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
})

export const assignmentOut = (row: StoredAssignment): AssignmentRow => ({
  userId: row.userId,
  systemId: row.systemId,
  method: row.method,
  channel: row.channel,
  challengeId: row.challengeId,
})

/** A challenge as inserted: `delivery` is not a column (it is read from the delivery). */
export const challengeIn = (row: ChallengeRow): StoredChallenge => ({
  id: row.id,
  accountId: row.accountId,
  systemId: row.systemId,
  userId: row.userId,
  systemName: row.systemName,
  authid: row.authid,
  method: row.method,
  channel: row.channel,
  status: row.status,
  linkHash: row.linkHash ?? null,
  pinHash: row.pinHash ?? null,
  pinLength: row.pinLength ?? null,
  attempts: row.attempts,
  maxAttempts: row.maxAttempts,
  createdAt: row.createdAt,
  expiresAt: row.expiresAt,
  completedAt: row.completedAt ?? null,
  outcomeReported: row.outcomeReported,
  context: jsonCopy(row.context ?? null),
  deliveryId: row.deliveryId ?? null,
  extraLayer: row.extraLayer ?? null,
  matchCode: row.matchCode ?? null,
  device: row.device ?? null,
  // Same-device completion: present only when the start named a return URL, as the SQL storage reads it.
  ...(row.returnUrl ? { returnUrl: row.returnUrl } : {}),
})

/** What a host hears for each delivery status; a cancelled delivery's challenge is over anyway. */
const DELIVERY_STATE: Partial<Record<DeliveryStatus, DeliveryState>> = {
  queued: 'queued',
  failed: 'failed',
  sent: 'sent',
  abandoned: 'failed',
}

/**
 * A challenge as read. With `tables`, its delivery's state joined in (as `getChallenge` and
 * `resolveLogin` read it); without, null (as a write's RETURNING row has it).
 */
export function challengeOut(row: StoredChallenge, tables?: MemoryTables): ChallengeRow {
  const delivery = tables && row.deliveryId !== null ? tables.deliveries.get(row.deliveryId) : undefined
  return { ...structuredClone(row), delivery: (delivery && DELIVERY_STATE[delivery.status]) ?? null }
}

export const deliveryIn = (row: DeliveryRow): DeliveryRow => ({
  id: row.id,
  accountId: row.accountId,
  challengeId: row.challengeId,
  channel: row.channel,
  destination: row.destination,
  status: row.status,
  attempts: row.attempts,
  nextAttemptAt: row.nextAttemptAt,
  claimedUntil: row.claimedUntil ?? null,
  providerId: row.providerId ?? null,
  lastError: row.lastError ?? null,
  payload: row.payload ?? null,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
  expiresAt: row.expiresAt,
  fallbackOf: row.fallbackOf ?? null,
})

/** A deep copy of a stored row. */
export const out = <T>(row: T): T => structuredClone(row)
