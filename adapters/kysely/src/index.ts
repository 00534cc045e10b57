export { SyncNotStarted } from './coalesced-syncs.js'
export type { ReadBack, RowsStatement, SqlDialect, SweepArgs, TableUpdate } from './dialect.js'
export {
  type GroupCommitOptions,
  type GroupCommitStats,
  groupCommitExecutor,
  type SingleConnection,
} from './group-commit.js'
export { type KyselyStorage, type KyselyStorageOptions, kyselyStorage } from './kysely-storage.js'
export { migrations } from './migrations.js'
export { mysqlDialect } from './mysql-dialect.js'
export { type PreparedQuery, param, prepare } from './prepared-query.js'
export type * from './schema.js'
export { FLEXSECURE_TABLES } from './schema.js'
export {
  type BatchScope,
  closableExecutor,
  DEFERRED,
  kyselyExecutor,
  type RetryRules,
  retryingExecutor,
  type SqlExecutor,
  type WriteOptions,
} from './sql-executor.js'
export { type StandardAbilities, standardDialect } from './standard-dialect.js'
export type { SyncPlace, SyncPlacementOptions } from './sync-placement.js'
