export { applyPragmas, type SqliteStorageOptions, sqliteStorage } from './sqlite-storage.js'
