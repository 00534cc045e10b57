import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openForTampering } from '../../../adapters/sqlite/test/engine-fixture.js'
import { flexsecureInProcess } from '../test/cli-in-process.js'

// S34 through the operator's commands, with checkpoints in a directory outside the database.

const saved = {
  db: process.env.FLEXSECURE_DB,
  secret: process.env.FLEXSECURE_SECRET,
  checkpoints: process.env.FLEXSECURE_AUDIT_CHECKPOINTS,
}
let dir: string
let database: string
let checkpoints: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-checkpoint-cli-'))
  database = join(dir, 'data', 'fs.db')
  checkpoints = join(dir, 'checkpoints')
  process.env.FLEXSECURE_DB = database
  process.env.FLEXSECURE_SECRET = 'c'.repeat(40)
  process.env.FLEXSECURE_AUDIT_CHECKPOINTS = checkpoints
})
afterAll(() => {
  for (const [key, value] of [
    ['FLEXSECURE_DB', saved.db],
    ['FLEXSECURE_SECRET', saved.secret],
    ['FLEXSECURE_AUDIT_CHECKPOINTS', saved.checkpoints],
  ] as const)
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  rmSync(dir, { recursive: true, force: true })
})

const flexsecure = flexsecureInProcess

describe('audit checkpoints through the CLI (S34)', () => {
  it('catches the replayed head: save it, create a backdoor admin key, delete after it, write it back', async () => {
    expect((await flexsecure('init', '--name', 'Acme')).code).toBe(0)
    expect((await flexsecure('audit', 'checkpoint')).value).toEqual({ written: 1 })
    expect(await flexsecure('audit', 'verify')).toMatchObject({ code: 0, value: [{ ok: true }] })

    const db = openForTampering(database)
    const head = db.prepare('SELECT * FROM fs_audit_heads').get() as Record<string, unknown>
    expect((await flexsecure('keys', 'create', '--name', 'backdoor', '--scopes', 'admin')).code).toBe(0)
    db.prepare('DELETE FROM fs_audit_events WHERE seq > ?').run(head.seq)
    db.prepare('UPDATE fs_audit_heads SET seq = ?, mac = ?, head_mac = ?').run(
      head.seq,
      head.mac,
      head.head_mac,
    )
    db.close()

    const verdict = await flexsecure('audit', 'verify')
    expect(verdict.code).toBe(1)
    expect(verdict.value).toMatchObject([
      { ok: false, firstBadSeq: Number(head.seq) + 1, problem: expect.stringContaining('were deleted') },
    ])
    // The checkpoint lives outside the database, private to the server's user.
    const [file] = readdirSync(checkpoints)
    expect(statSync(join(checkpoints, String(file))).mode & 0o777).toBe(0o600)
    expect(statSync(checkpoints).mode & 0o777).toBe(0o700)
  })
})
