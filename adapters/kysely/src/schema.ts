import type { Generated } from 'kysely'

// Tables are prefixed `fs_` so FlexSecure can share a database with its host. Times are epoch
// milliseconds in bigint columns; booleans are 0/1 integers; JSON is text. Portable across dialects.

export interface AccountsTable {
  id: string
  name: string
  settings: string | null
  created_at: number
}

export interface ApiKeysTable {
  id: string
  account_id: string
  name: string
  prefix: string
  sha256: string
  scopes: string
  created_at: number
  last_used_at: number | null
  expires_at: number | null
  revoked_at: number | null
}

export interface RateLimitsTable {
  key: string
  window_end: number
  count: number
}

export interface SystemsTable {
  id: string
  account_id: string
  name: string
  policies: string
  return_url: Generated<string | null>
  messages: Generated<string | null>
  sensitivity: Generated<string | null>
  rules: Generated<string | null>
  rules_version: Generated<number | null>
  created_at: number
  updated_at: number
}

export interface UsersTable {
  id: string
  account_id: string
  authid: string
  display_name: string | null
  email: string | null
  phone: string | null
  locale: Generated<string | null>
  attributes: Generated<string | null>
  memorized_pin_hash: Generated<string | null>
  status: string
  failure_streak: Generated<number>
  retry_after: number | null
  created_at: number
  updated_at: number
}

export interface AssignmentsTable {
  user_id: string
  system_id: string
  method: string
  channel: string | null
  challenge_id: string | null
  previous_challenge_id: string | null
}

export interface ChallengesTable {
  id: string
  account_id: string
  system_id: string
  user_id: string
  system_name: string
  authid: string
  method: string
  channel: string
  status: string
  link_hash: string | null
  pin_hash: string | null
  pin_length: number | null
  attempts: number
  max_attempts: number
  created_at: number
  expires_at: number
  completed_at: number | null
  outcome_reported: number
  context: string | null
  delivery_id: Generated<string | null>
  extra_layer: Generated<string | null>
  match_code: Generated<string | null>
  device: Generated<string | null>
  return_url: Generated<string | null>
}

/** The outbox: one row per message, its payload sealed and wiped once final. */
export interface DeliveriesTable {
  id: string
  account_id: string
  challenge_id: string
  channel: string
  destination: string
  status: string
  attempts: number
  next_attempt_at: number
  claimed_until: number | null
  provider_id: string | null
  last_error: string | null
  payload: string | null
  created_at: number
  updated_at: number
  expires_at: number
  fallback_of: string | null
}

export interface AuditEventsTable {
  account_id: string
  seq: number
  at: number
  type: string
  actor: string
  system: string | null
  authid: string | null
  challenge_id: string | null
  outcome: string
  reason: string | null
  ip: string | null
  user_agent: string | null
  details: string | null
  prev_mac: string | null
  mac: string
}

/** The end of each account's audit chain, and the anchor it resumes from after a purge. */
export interface AuditHeadsTable {
  account_id: string
  seq: number
  mac: string | null
  anchor_seq: Generated<number>
  anchor_mac: string | null
  head_mac: string
}

export interface Database {
  fs_accounts: AccountsTable
  fs_api_keys: ApiKeysTable
  fs_rate_limits: RateLimitsTable
  fs_systems: SystemsTable
  fs_users: UsersTable
  fs_assignments: AssignmentsTable
  fs_challenges: ChallengesTable
  fs_deliveries: DeliveriesTable
  fs_audit_events: AuditEventsTable
  fs_audit_heads: AuditHeadsTable
}

/** Every FlexSecure table, children before parents: the order to empty them in (tests, resets). */
export const FLEXSECURE_TABLES = [
  // Same-device completion codes (completion-schema.ts).
  'fs_completion_codes',
  // The console's (console-schema.ts).
  'fs_console_sessions',
  'fs_login_counts',
  'fs_admin_state',
  // The engine secret's fingerprint (secret-store-queries.ts).
  'fs_engine',
  'fs_audit_events',
  'fs_audit_heads',
  'fs_rate_limits',
  'fs_deliveries',
  'fs_challenges',
  'fs_assignments',
  'fs_users',
  'fs_systems',
  'fs_api_keys',
  'fs_accounts',
] as const satisfies readonly (
  | keyof Database
  | 'fs_completion_codes'
  | 'fs_console_sessions'
  | 'fs_login_counts'
  | 'fs_admin_state'
  | 'fs_engine'
)[]
