import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { databaseKind, type ServerConfig } from './config.js'

/** S32: only the server's own user may read the data folder and the files that hold secrets. */
export const DIRECTORY_MODE = 0o700
export const FILE_MODE = 0o600

/**
 * Creates what a SQLite database needs before it is opened: its folder (0700), the generated secret
 * (0600) and the database file itself (0600, so SQLite's -wal and -shm files, which copy its mode, are
 * private too). In production, an existing folder or file that others can read is tightened, and said.
 * Nothing is done for a database server.
 */
export function prepareDataDirectory(config: ServerConfig, say: (line: string) => void = () => {}): void {
  if (databaseKind(config.database) !== 'sqlite') return
  const folder = dirname(config.database)
  if (!existsSync(folder)) mkdirSync(folder, { recursive: true, mode: DIRECTORY_MODE })
  if (config.secretFile)
    writeFileSync(config.secretFile, `${config.secret}\n`, { mode: FILE_MODE, flag: 'wx' })
  if (!existsSync(config.database)) closeSync(openSync(config.database, 'wx', FILE_MODE))
  if (!config.production) return
  const secretFile = `${folder}/secret`
  const tighten = (path: string, mode: number) => {
    if (!existsSync(path) || (statSync(path).mode & 0o077) === 0) return
    chmodSync(path, mode)
    say(`Production: ${path} was readable by others; its mode is now ${mode.toString(8)}.`)
  }
  tighten(folder, DIRECTORY_MODE)
  for (const file of [config.database, `${config.database}-wal`, `${config.database}-shm`, secretFile])
    tighten(file, FILE_MODE)
}
