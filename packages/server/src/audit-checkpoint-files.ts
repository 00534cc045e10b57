import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AuditCheckpoint, CheckpointStore } from '@flexsecure/core'
import { DIRECTORY_MODE, FILE_MODE } from './data-directory.js'

// SECURITY.md S34: signed audit checkpoints outside the database, one file per account in a directory
// the operator names (FLEXSECURE_AUDIT_CHECKPOINTS): on another disk, a mount the database host cannot
// write, or a folder another job ships away. Each file holds the newest checkpoint; it never moves back.

/** A checkpoint that cannot be read counts as one whose signature fails: verification reports it. */
const UNREADABLE = (accountId: string): AuditCheckpoint => ({
  accountId,
  seq: 0,
  mac: null,
  at: 0,
  signature: '',
})

/** Checkpoints as files `<accountId>.json` (0600) in `directory` (0700, created when missing). */
export function checkpointFiles(directory: string): CheckpointStore {
  let ready: Promise<unknown> | undefined
  const path = (accountId: string) => join(directory, `${accountId.replace(/[^A-Za-z0-9_-]/g, '_')}.json`)
  const read = async (accountId: string): Promise<AuditCheckpoint | null> => {
    let text: string
    try {
      text = await readFile(path(accountId), 'utf8')
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return null
      throw error
    }
    try {
      const parsed = JSON.parse(text) as AuditCheckpoint
      return parsed?.accountId === accountId ? parsed : UNREADABLE(accountId)
    } catch {
      return UNREADABLE(accountId)
    }
  }
  return {
    latest: read,
    async write(checkpoint) {
      ready ??= mkdir(directory, { recursive: true, mode: DIRECTORY_MODE })
      await ready
      const current = await read(checkpoint.accountId)
      // Instances write in any order: the newest sequence stays.
      if (current?.signature && current.seq > checkpoint.seq) return
      const temporary = `${path(checkpoint.accountId)}.${randomBytes(4).toString('hex')}.tmp`
      await writeFile(temporary, `${JSON.stringify(checkpoint)}\n`, { mode: FILE_MODE })
      await rename(temporary, path(checkpoint.accountId))
    },
  }
}
