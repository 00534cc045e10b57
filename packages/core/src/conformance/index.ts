// Conformance suites for Storage and Notifier adapters, and the cross-process login races. Imports
// vitest (a peer dependency): call these from an adapter's test files.

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
} from './storage-conformance.js'
