export type {
  AssignmentInput,
  SystemInput,
  SystemsAdmin,
  UserChanges,
  UserInput,
  UsersAdmin,
} from './account-admin.js'
export {
  type AccountSettings,
  type AccountSettingsInput,
  DEFAULT_SETTINGS,
  type LockoutPolicy,
  resolveSettings,
  type SendLimits,
} from './account-settings.js'
export type {
  AuditSearch,
  ConsoleAdmin,
  DeliveriesAdmin,
  DeliveryInfo,
  MessagePreview,
  StatsAdmin,
  UserSearch,
} from './admin-insights.js'
export type * from './admin-query-store.js'
export { API_KEY_PREFIX, isWellFormedApiKey, SCOPES, type Scope } from './api-keys.js'
export type { ApiKeyInfo, ApiKeysAdmin, KeyIdentity } from './api-keys-admin.js'
export { type AuditSealer, type AuditVerdict, auditSealer, verifyAuditChain } from './audit-chain.js'
export {
  type AuditCheckpoint,
  type CheckpointStore,
  checkpointSigner,
  memoryCheckpoints,
} from './audit-checkpoints.js'
export { AUDIT_CSV_COLUMNS, auditCsvLine, auditExportStream, csvCell } from './audit-csv.js'
export { type Clock, systemClock } from './clock.js'
export {
  CONSOLE_ROLE_ATTRIBUTE,
  CONSOLE_ROLES,
  CONSOLE_SYSTEM,
  CONSOLE_SYSTEM_SETTINGS,
  type ConsoleGrant,
  type ConsoleRole,
  consoleRoleOf,
  grantConsoleAccess,
} from './console-access.js'
export type * from './console-session-store.js'
export {
  type ConsoleSession,
  type ConsoleSessions,
  consoleActor,
  DEFAULT_SESSION_LIMITS,
  FRESH_LOGIN_MS,
  type SessionContext,
  type SessionLimits,
  type SessionRefusal,
  type SessionResult,
} from './console-sessions.js'
export { maskDestination, normalizeEmail, normalizePhone, refusedPhoneKind } from './contact-points.js'
export {
  type AccountHandle,
  type AuditFilters,
  createEngine,
  type Engine,
  type EngineOptions,
} from './engine.js'
export type { Logger } from './engine-context.js'
export {
  ConflictError,
  DeliveryError,
  NotFoundError,
  SecretMismatchError,
  StorageError,
  ValidationError,
} from './errors.js'
export type { ChallengeEvent, EngineEvents } from './events.js'
export { type ConfirmOptions, type ConfirmResult, isLinkTokenShape, type LinkView } from './links.js'
export type { CheckInput, SimulateResult, StartInput, StartOptions } from './login.js'
export {
  NO_CONTROL_CHARACTERS,
  NO_CONTROL_CHARACTERS_BUT_LINE_BREAKS,
  refuseControlCharacters,
} from './login-input.js'
export {
  type LoginBucket,
  type LoginBucketCount,
  type LoginStats,
  loginOutcome,
  type Overview,
} from './login-stats.js'

export { COMMON_PINS, weakPinReason } from './memorized-pin.js'
export type { MessageSettings, MessageTemplates } from './messages.js'
export * from './model.js'
export type { Message, Notifier } from './notifier.js'
export {
  type OperatorCeilings,
  refuseLooserSettings,
  resolveCeilings,
  withinCeilings,
} from './operator-ceilings.js'
export { ARGON2_DEFAULTS, argon2PinHasher, type PinHasher } from './pin-hasher.js'
export { DEFAULT_POLICIES, type PoliciesInput, resolvePolicies } from './policies.js'
export * from './policy.js'
export { type Keyring, keyringOf, type SecretCheck, secretFingerprint } from './secret-keyring.js'
export type { SecretStore } from './secret-store.js'
export type * from './storage.js'
