export { type PostgresStorageOptions, postgresStorage } from './postgres-storage.js'
