// Conformance suites for Storage and Notifier adapters, and the cross-process login races. Imports
// vitest (a peer dependency): call these from an adapter's test files.
//
// The storage suite is one file of cases per store (accounts-, api-keys-, systems-, users-, logins-,
// outbox- and audit-conformance.ts, with the races in race-conformance.ts), sharing
// storage-fixture.ts: a fresh storage per test, seeded as far as the store needs. An adapter written
// store by store passes `stores` (StoreName[]) to run only those stores' cases. Each store's cases
// assert what that store does and seed through the stores before it, in the order accounts →
// systems → users → logins → outbox (apiKeys and audit need only accounts); a case that reads
// another store to see what its own wrote (the audit trail, most often) runs when that store is
// selected too, and is skipped, saying why in its name, otherwise.

export {
  type ConsoleStoreConformanceOptions,
  type ConsoleWorld,
  runConsoleStoreConformance,
} from './console-conformance.js'
export {
  type RaceReport,
  raceAcrossProcesses,
  raceCompletionRedeems,
  raceLinkConfirms,
  racePinChecks,
  raceStarts,
  type SharedDatabase,
} from './login-races.js'
export {
  type NotifierConformanceOptions,
  type NotifierUnderTest,
  runNotifierConformance,
} from './notifier-conformance.js'
export {
  runStorageConformance,
  type StorageConformanceOptions,
  type StorageUnderTest,
  type StoreName,
} from './storage-conformance.js'
/** An audit draft for storage tests: `type` on `accountId`, every other field empty unless given. */
export { draft as auditDraft } from './storage-fixture.js'
