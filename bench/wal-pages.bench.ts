// What group commit changes, counted rather than timed: WAL pages and commits per login at 1 and N logins
// in flight, with group commit and with one commit per transaction, both at synchronous=FULL, and which
// tables and indexes the pages belong to. Automatic checkpoints are off while counting, so the WAL holds
// every frame written; a frame whose header names the database size after it is the last of a commit.
// At 1 in flight every page is a page the login's sync waits for. Run it with `pnpm bench:wal` in bench/.

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

/**
 * The page number of every frame in a WAL file, and how many frames end a commit (the format:
 * sqlite.org/fileformat.html, "WAL File Format").
 */
function walFrames(file: string): { pages: number[]; commits: number } {
  const wal = readFileSync(file)
  const pageSize = wal.readUInt32BE(8)
  const pages: number[] = []
  let commits = 0
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    pages.push(wal.readUInt32BE(at))
    if (wal.readUInt32BE(at + 4) !== 0) commits++
  }
  return { pages, commits }
}

/** Frames a login, by the table or index that owns the page now (SQLite's `dbstat`), most first. */
function owners(database: BetterSqlite3.Database, pages: readonly number[]): string {
  const owner = new Map<number, string>()
  for (const row of database.prepare('SELECT name, pageno FROM dbstat').all() as {
    name: string
    pageno: number
  }[])
    owner.set(row.pageno, row.name)
  const frames = new Map<string, number>()
  for (const page of pages) {
    // Page 1 holds the file's header (its size, the free list) besides the schema's root.
    const name = page === 1 ? 'page 1' : (owner.get(page) ?? 'free pages')
    frames.set(name, (frames.get(name) ?? 0) + 1)
  }
  return [...frames]
    .sort((a, b) => b[1] - a[1])
    .filter(([, n]) => n / LOGINS >= 0.05)
    .map(([name, n]) => `${name} ${(n / LOGINS).toFixed(1)}`)
    .join(', ')
}

async function count(flow: Flow, inFlight: number, groupCommit: boolean): Promise<string> {
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
      Array.from({ length: inFlight }, async () => {
        while (next < LOGINS) {
          const n = next++
          await new Promise<void>((resolve) => setImmediate(resolve))
          await contender.login(flow, n % USERS)
        }
      }),
    )
    // The delivery outcomes written behind the sends land before the count.
    await new Promise((resolve) => setTimeout(resolve, 50))
    const { pages, commits } = walFrames(`${filename}-wal`)
    const where = owners(database, pages)
    await contender.close()
    const mode = groupCommit ? 'group commit' : 'one commit per transaction'
    return [
      `  ${flow.padEnd(4)}  ${String(inFlight).padStart(9)}  ${mode.padEnd(27)}  ${(pages.length / LOGINS).toFixed(1).padStart(9)}  ${(commits / LOGINS).toFixed(2).padStart(7)}`,
      `        ${where}`,
    ].join('\n')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

console.log(
  `WAL pages and commits per login, ${LOGINS} logins, synchronous=FULL; under each, the pages by table or index`,
)
console.log('  flow  in flight  transactions                 WAL pages  commits')
for (const flow of ['link', 'pin'] as const)
  for (const inFlight of [1, IN_FLIGHT])
    for (const groupCommit of [false, true]) console.log(await count(flow, inFlight, groupCommit))
