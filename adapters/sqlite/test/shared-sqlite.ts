// How the conformance races open this adapter on the same file from another process.
import { sqliteStorage } from '../src/index.js'

export function openStorage(options: { filename: string }) {
  return sqliteStorage({ filename: options.filename })
}
