// Test kit for FlexSecure and its adapters. Imports vitest: use it from test files only.
export {
  type CapturedMessage,
  type CaptureNotifier,
  captureNotifier,
  parseSecret,
} from './capture-notifier.js'
export {
  cheapHasher,
  type RaceReport,
  raceAcrossProcesses,
  raceLinkConfirms,
  racePinChecks,
  raceStarts,
  type SharedDatabase,
} from './login-races.js'
export { type ManualClock, manualClock } from './manual-clock.js'
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
