// How the conformance races open this adapter on the same database from another process.
import { mysqlStorage } from '../src/index.js'

export function openStorage(options: { uri: string }) {
  return mysqlStorage({ uri: options.uri, connectionLimit: 4 })
}
