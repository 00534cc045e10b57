// How the conformance races open this adapter on the same database from another process.
import { postgresStorage } from '../src/index.js'

export function openStorage(options: { connectionString: string }) {
  return postgresStorage({ connectionString: options.connectionString, max: 4 })
}
