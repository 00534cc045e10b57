// What group commit changes, counted rather than timed: WAL pages and commits per login at N logins in
// flight, with group commit and with one commit per transaction, both at synchronous=FULL. Automatic
// checkpoints are off while counting, so the WAL holds every frame written; a frame whose header names
// the database size after it is the last of a commit. Run it with `pnpm bench:wal` in bench/.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { setting } from './bench-settings.js'
import { flexSecureContender } from './flexsecure-contender.js'
import type { Flow } from './login-harness.js'

const IN_FLIGHT = setting('BENCH_IN_FLIGHT', 64)
const LOGINS = setting('BENCH_WAL_LOGINS', 1024)
const USERS = setting('BENCH_USERS', 1000)

/** Frames and commit frames in a WAL file (the format: sqlite.org/fileformat.html, "WAL File Format"). */
function walFrames(file: string): { frames: number; commits: number } {
  const wal = readFileSync(file)
  const pageSize = wal.readUInt32BE(8)
  let frames = 0
  let commits = 0
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    frames++
    if (wal.readUInt32BE(at + 4) !== 0) commits++
  }
  return { frames, commits }
}

async function count(flow: Flow, groupCommit: boolean): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-bench-wal-'))
  try {
    const filename = join(dir, 'flexsecure.db')
    const database = new BetterSqlite3(filename)
    const contender = await flexSecureContender({
      name: 'FlexSecure',
      filename,
      database,
      synchronous: 'full',
      users: USERS,
      variant: { groupCommit },
    })
    // Every user logs in once first, so the counted logins supersede and update as they would later.
    for (let n = 0; n < USERS; n++) await contender.login(flow, n)
    database.pragma('wal_autocheckpoint = 0')
    database.pragma('wal_checkpoint(TRUNCATE)')
    let next = 0
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < LOGINS) {
          const n = next++
          await new Promise<void>((resolve) => setImmediate(resolve))
          await contender.login(flow, n % USERS)
        }
      }),
    )
    const { frames, commits } = walFrames(`${filename}-wal`)
    await contender.close()
    const mode = groupCommit ? 'group commit' : 'one commit per transaction'
    return `  ${flow.padEnd(4)}  ${mode.padEnd(27)}  ${(frames / LOGINS).toFixed(1).padStart(9)}  ${(commits / LOGINS).toFixed(2).padStart(11)}`
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

console.log(`WAL pages and commits per login, ${LOGINS} logins at ${IN_FLIGHT} in flight, synchronous=FULL`)
console.log('  flow  transactions                 WAL pages      commits')
for (const flow of ['link', 'pin'] as const)
  for (const groupCommit of [false, true]) console.log(await count(flow, groupCommit))
