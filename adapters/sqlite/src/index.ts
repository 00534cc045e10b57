export {
  applyPragmas,
  type SqliteStorage,
  type SqliteStorageOptions,
  sqliteStorage,
} from './sqlite-storage.js'
export type { CheckpointResult, WalCheckpointer, WalCheckpointerOptions } from './wal-checkpointer.js'
