// What an application's own tests, examples and demos use to run logins without a mailbox, a
// database or a real clock. Needs no test runner; the conformance suites are in `@flexsecure/core/conformance`.

export {
  type CapturedMessage,
  type CaptureNotifier,
  captureNotifier,
  parseSecret,
} from './capture-notifier.js'
export { cheapHasher } from './cheap-hasher.js'
export { consoleNotifier } from './console-notifier.js'
export { type ManualClock, manualClock } from './manual-clock.js'
export {
  type MemoryRows,
  type MemoryStorage,
  type MemoryTableName,
  memoryStorage,
} from './memory-storage.js'
