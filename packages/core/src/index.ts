export type {
  AuditSearch,
  ConsoleAdmin,
  DeliveriesAdmin,
  DeliveryInfo,
  MessagePreview,
  StatsAdmin,
  UserSearch,
} from './admin/admin-insights.js'
export type { ApiKeyInfo, ApiKeysAdmin, KeyIdentity } from './admin/api-keys-admin.js'
export type { BackgroundSettings } from './admin/background-work.js'
export {
  CONSOLE_ROLE_ATTRIBUTE,
  CONSOLE_ROLES,
  CONSOLE_SYSTEM,
  CONSOLE_SYSTEM_SETTINGS,
  type ConsoleGrant,
  type ConsoleRole,
  consoleRoleOf,
  grantConsoleAccess,
} from './admin/console-access.js'
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
} from './admin/console-sessions.js'
export {
  type LoginBucket,
  type LoginBucketCount,
  type LoginStats,
  loginOutcome,
  type Overview,
} from './admin/login-stats.js'
export { type Keyring, keyringOf, type SecretCheck, secretFingerprint } from './admin/secret-keyring.js'
export type { SystemInput, SystemsAdmin } from './admin/systems-admin.js'
export type { AssignmentInput, UserChanges, UserInput, UsersAdmin } from './admin/users-admin.js'
export { type AuditSealer, type AuditVerdict, auditSealer, verifyAuditChain } from './audit/audit-chain.js'
export {
  type AuditCheckpoint,
  type CheckpointStore,
  checkpointSigner,
  memoryCheckpoints,
} from './audit/audit-checkpoints.js'
export { AUDIT_CSV_COLUMNS, auditCsvLine, auditExportStream, csvCell } from './audit/audit-csv.js'
export {
  auditDraftsByAccount,
  chainAuditDrafts,
  type SealedAudit,
  sealAuditDrafts,
} from './audit/audit-sealing.js'
export { API_KEY_PREFIX, isWellFormedApiKey, SCOPES, type Scope } from './domain/api-keys.js'
export { maskDestination, normalizeEmail, normalizePhone, refusedPhoneKind } from './domain/contact-points.js'
// A deadline without a leaked timer: the adapters' and the server's closes wait with it too.
export { LATE, settledWithin, type UnderWay, underWay } from './domain/deadline.js'
export {
  ConflictError,
  DeliveryError,
  NotFoundError,
  SecretMismatchError,
  StorageError,
  ValidationError,
} from './domain/errors.js'
export type { ChallengeEvent, EngineEvents } from './domain/events.js'
export {
  contextBytes,
  MAX_CONTEXT_BYTES,
  NO_CONTROL_CHARACTERS,
  NO_CONTROL_CHARACTERS_BUT_LINE_BREAKS,
  refuseControlCharacters,
} from './domain/login-input.js'
export { COMMON_PINS, weakPinReason } from './domain/memorized-pin.js'
export * from './domain/model.js'
export {
  type AccountHandle,
  type AuditFilters,
  createEngine,
  type Engine,
  type EngineOptions,
} from './engine.js'
export type { CheckInput, CheckOptions } from './login/check.js'
export { type ConfirmOptions, type ConfirmResult, isLinkTokenShape, type LinkView } from './login/links.js'
export {
  DEFAULT_THROTTLE,
  resolveThrottle,
  type ThrottleInput,
  type ThrottleSettings,
} from './login/login-throttle.js'
export { COMPLETION_CODE_TTL_MS, type RedeemResult } from './login/same-device.js'
export type { SimulateResult, StartInput, StartOptions } from './login/start.js'
export type { Rate } from './login/token-buckets.js'
export { finishedDelivery } from './outbox/delivery-outcome-rule.js'
export type { MessageSettings, MessageTemplates } from './outbox/messages.js'
export {
  type AccountSettings,
  type AccountSettingsInput,
  DEFAULT_SETTINGS,
  type LockoutPolicy,
  resolveSettings,
  type SendLimits,
} from './policy/account-settings.js'
export {
  type OperatorCeilings,
  refuseLooserSettings,
  resolveCeilings,
  withinCeilings,
} from './policy/operator-ceilings.js'
export * from './policy/rules.js'
export { DEFAULT_POLICIES, type PoliciesInput, resolvePolicies } from './policy/system-policy.js'
export type * from './ports/admin-query-store.js'
export { type Clock, systemClock } from './ports/clock.js'
export type * from './ports/completion-store.js'
export type * from './ports/console-session-store.js'
export type { Logger } from './ports/engine-context.js'
export { afterFailure } from './ports/failure-streak.js'
export type { Message, Notifier } from './ports/notifier.js'
export { ARGON2_DEFAULTS, argon2PinHasher, type PinHasher } from './ports/pin-hasher.js'
export type { SecretStore } from './ports/secret-store.js'
export type * from './ports/storage.js'
